// The result as a report: what the numbers rest on, the medians table, the targets checklist, and
// the rows as a CSV.
import { vsHfCharts } from './charts.js';
import type { Report, ReportCsv, ReportTable } from '../report/report.js';
import { openmpNote } from '../env/format.js';
import { deviceReadLimit } from '../env/types.js';
import type { Row, TargetCheck, VsHfFile } from './schema.js';

const HEAD = ['model', 'dtype', 'runner', 'prefill tok/s', 'decode tok/s', 'peak RSS MiB', 'prefill ÷ HF sdpa', 'decode ÷ HF sdpa', 'roofline tok/s', '% of roofline'];

/** Which OMP_WAIT_POLICY each side ran with, as far as the file records it. */
function waitPolicies(s: VsHfFile['settings']): string {
  const hf = s.hf_omp_wait_policy ?? "unset (torch's default)";
  if (s.omp_wait_policy === undefined) return `transformers OMP_WAIT_POLICY ${hf}; the engine's own thread pool spins briefly, then sleeps`;
  if (s.hf_omp_wait_policy === undefined) return `OMP_WAIT_POLICY ${s.omp_wait_policy ?? 'unset'} for both`;
  return `OMP_WAIT_POLICY: engine ${s.omp_wait_policy ?? 'unset'}, transformers ${hf}: each with its own default`;
}

/** One decimal from 10 up, two below: 1234.5, 12.3, 1.23. */
export function fmtRate(v: number | null): string {
  if (v === null) return '-';
  return v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

const fmtRatio = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}×`);
const fmtMib = (bytes: number | null) => (bytes === null ? '-' : (bytes / 2 ** 20).toFixed(0));

function tableRow(r: Row, totalRounds: number): string[] {
  const runner = r.failed > 0 ? `${r.runner} (${r.rounds}/${totalRounds} ok)` : r.runner;
  if (r.rounds === 0) return [r.model, r.dtype, runner, 'failed', '-', '-', '-', '-', '-', '-'];
  const source = r.roofline.bandwidth_source === 'memory' ? 'mem' : 'cache';
  return [
    r.model,
    r.dtype,
    runner,
    fmtRate(r.prefill_tok_s),
    fmtRate(r.decode_tok_s),
    fmtMib(r.peak_rss_bytes),
    fmtRatio(r.prefill_vs_hf_sdpa),
    fmtRatio(r.decode_vs_hf_sdpa),
    `${fmtRate(r.roofline.limit_tok_s)} (${source})`,
    r.roofline.percent === null ? '-' : `${r.roofline.percent.toFixed(1)}%`,
  ];
}

export function resultTable(file: Pick<VsHfFile, 'rows' | 'settings'>): ReportTable {
  const s = file.settings;
  return {
    title: `Engine vs transformers: median of ${s.rounds} round${s.rounds === 1 ? '' : 's'} · prompt ${s.prompt_tokens} tok · ${s.decode_tokens} decode tokens · ${s.threads} threads`,
    head: HEAD,
    rows: file.rows.map((r) => tableRow(r, s.rounds)),
  };
}

function targetsTable(targets: readonly TargetCheck[]): ReportTable {
  return { title: 'Targets', head: ['status', 'target', 'scope', 'figures'], rows: targets.map((t) => [t.status, t.target, t.scope, t.detail]) };
}

// 'openmp': files from builds before the engine's own thread pool.
const BUILD_FIELDS = ['compiler', 'flags', 'buildType', 'backends', 'timers', 'openmp'];

/** What the numbers rest on: machine, bandwidths, versions, thread counts. */
function headerLines(file: VsHfFile): string[] {
  const e = file.environment;
  const b = file.bandwidth;
  const hf = file.hf.available
    ? `transformers ${file.hf.transformers_version} · torch ${file.hf.torch_version} (CPU, float32, ${file.hf.threads ?? file.settings.threads} threads)`
    : `transformers not measured: ${file.hf.reason}`;
  const end = b.memory_end ? `, end ${b.memory_end.triad.best_gbps.toFixed(1)}` : '';
  const b0 = file.engine.build;
  // Fields newer builds add (e.g. which CPU kernels they chose at run time).
  const extra = Object.entries(b0).filter(([k]) => !BUILD_FIELDS.includes(k)).map(([k, v]) => `, ${k} ${String(v)}`).join('');
  return [
    `${e.cpu.brand} · ${e.cpu.cores} hardware threads · engine ${b0.compiler} ${b0.flags} (${openmpNote(b0.openmp)}${file.engine.threads} threads${extra})`,
    `${hf} · ${waitPolicies(file.settings)}`,
    `memory bandwidth (STREAM triad best, GB/s): start ${b.memory_start.triad.best_gbps.toFixed(1)}${end} → roofline uses ${(b.memory_used / 1e9).toFixed(1)} (${b.memory_used_from})`,
    `page-cache read bandwidth (warm): ${(b.page_cache_used / 1e6).toFixed(0)} MB/s (cold disk ${deviceReadLimit(b.disk).mbps.toFixed(0)} MB/s, ${deviceReadLimit(b.disk).source}) · measured in ${b.disk.dir}`,
    'roofline = bandwidth ÷ (decoder-layer + lm_head bytes per token): stored dtype for the engine, float32 for transformers; mem = memory, cache = page cache',
  ];
}

const CSV_COLUMNS = ['model', 'dtype', 'runner', 'rounds', 'failed', 'prefill_tok_s', 'decode_tok_s', 'peak_rss_bytes', 'prefill_vs_hf_sdpa', 'decode_vs_hf_sdpa',
  'prefill_vs_hf_eager', 'decode_vs_hf_eager', 'roofline_bytes_per_token', 'roofline_bandwidth_source', 'roofline_bandwidth', 'roofline_limit_tok_s', 'roofline_percent', 'streaming_wall_over_bound'];

function rowsCsv(rows: readonly Row[]): ReportCsv {
  return {
    columns: CSV_COLUMNS,
    rows: rows.map((r) => [r.model, r.dtype, r.runner, r.rounds, r.failed, r.prefill_tok_s, r.decode_tok_s, r.peak_rss_bytes,
      r.prefill_vs_hf_sdpa, r.decode_vs_hf_sdpa, r.prefill_vs_hf_eager, r.decode_vs_hf_eager, r.roofline.bytes_per_token,
      r.roofline.bandwidth_source, r.roofline.bandwidth, r.roofline.limit_tok_s, r.roofline.percent, r.streaming_wall_over_bound]),
  };
}

/** The whole report, from the result document alone. */
export function vsHfReport(file: VsHfFile): Report {
  return {
    kind: 'vs-hf',
    title: 'rabbit-bench vs Hugging Face transformers',
    header: headerLines(file),
    tables: [resultTable(file), targetsTable(file.targets)],
    charts: vsHfCharts(file),
    notes: file.notes.map((n) => `note: ${n}`),
    data: file,
    csv: rowsCsv(file.rows),
  };
}
