// The profile as a report: its header, tables and notes.
import type { Report, ReportTable } from '../report/report.js';
import { vramLine } from '../cuda/vram.js';
import { profileCharts } from './charts.js';
import { profileCsv } from './csv.js';
import { cacheMode, type CacheMode, type ProfileFile } from '../results/profile-schema.js';
import type { Summary } from '../stats.js';
import type { ExpertStats } from './experts.js';
import { PHASE_ROWS, type ProfileSummary } from './summary.js';
import { dtypeMix } from './units.js';
import { DISK_SHARE } from './verdict.js';


const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function stats(s: Summary, fmt: (x: number) => string): string[] {
  return [fmt(s.median), fmt(s.min), fmt(s.max), fmt(s.stdev)];
}

const CACHE_LABEL: Record<CacheMode, string> = {
  warm: 'warm page cache',
  'cold-run': 'COLD per run (--cold=run: files evicted before each run; later steps may hit the page cache)',
  'cold-step': 'COLD per step (--cold=step: every unit evicted after each read)',
};

export function headline(file: ProfileFile): string {
  const m = file.model;
  const s = file.settings;
  const experts = s.experts ? `, ${s.experts.streaming ? `expert streaming, cache ${mib(s.experts.cache_bytes)}` : 'whole-layer streaming'}` : '';
  const mode = `${s.resident ? 'resident' : s.prefetch ? 'streaming + prefetch' : 'streaming, no prefetch'} (--io ${s.io}${experts})`;
  const synthetic = m.synthetic ? `synthetic ${m.synthetic.shape}, ` : '';
  const measured = file.runs.filter((r) => !r.warmup).length;
  return (
    `${m.name} (${synthetic}${m.architecture}, ${m.dtype}, ${m.num_layers} layers, ${(m.params / 1e6).toFixed(1)}M params) · ` +
    `${s.device} · ${mode} · ${CACHE_LABEL[cacheMode(s.cold)]}\n` +
    `${measured} runs (+${s.warmup} warmup) · prompt ${s.prompt_tokens} tok · ${s.max_new_tokens} new tokens · ${s.threads || 'all'} threads`
  );
}

export function profileTables(summary: ProfileSummary, maxLayers: number): ReportTable[] {
  const phaseRows = PHASE_ROWS.map((row) => {
    const p = summary.phases[row];
    const label = row === 'load_safe_tensor' && summary.background_load ? 'load_safe_tensor (prefetch thread)' : row;
    return [label, ...stats(p, f1), pct(p.share)];
  });
  phaseRows.push(['wall', ...stats(summary.wall_ms, f1), '100.0%']);

  const speed: string[][] = [['TTFT (ms)', ...stats(summary.prefill.ttft_ms, f1)]];
  if (summary.decode.tok_per_s && summary.decode.ms_per_token) {
    speed.push(['decode tok/s', ...stats(summary.decode.tok_per_s, f2)]);
    speed.push(['ms / token', ...stats(summary.decode.ms_per_token, f1)]);
  }
  if (summary.read_mb_per_s) speed.push(['read MB/s', ...stats(summary.read_mb_per_s, f1)]);
  if (summary.device_bytes_read) speed.push(['device MiB read', ...stats(summary.device_bytes_read, (b) => f1(b / 2 ** 20))]);
  speed.push(['overlap efficiency', ...stats(summary.overlap_efficiency, f2)]);

  const layers = [...summary.layers]
    .sort((a, b) => b.total_ms - a.total_ms)
    .slice(0, maxLayers)
    .map((l) => [
      l.name,
      ...[l.load_ms, l.cpu_wait_ms, l.create_ms, l.forward_ms, l.kv_fill_ms, l.total_ms].map((x) => x.toFixed(3)),
      (l.bytes_per_decode_step / 2 ** 20).toFixed(2),
      dtypeMix(l.dtypes),
    ]);
  const perStep = summary.decode.steps > 0 ? 'decode step' : 'prefill';
  return [
    ...(summary.experts ? [expertTable(summary.experts, perStep)] : []),
    { title: `Phases per run (ms, ${summary.cache} cache)`, head: ['phase', 'median', 'min', 'max', 'stdev', 'share of wall'], rows: phaseRows },
    { title: `Prefill (${summary.prefill.tokens} tokens) and decode (${summary.decode.steps} steps)`, head: ['metric', 'median', 'min', 'max', 'stdev'], rows: speed },
    {
      title: `Slowest units (median ms per ${perStep}; ${Math.min(maxLayers, summary.layers.length)} of ${summary.layers.length})`,
      head: ['unit', 'load', 'cpu_wait', 'create', 'forward', 'kv_fill', 'total', 'MiB read', 'types'],
      rows: layers,
    },
  ];
}

function expertTable(e: ExpertStats, perStep: string): ReportTable {
  const rate = (x: number | null) => (x === null ? 'n/a' : pct(x));
  const rows = [
    ['experts used (all sparse layers)', f1(e.used_per_step)],
    ['experts read from disk', f1(e.loaded_per_step)],
    ['expert cache hit rate', e.streaming ? rate(e.cache_hit_rate) : 'n/a (whole layers)'],
    ['same experts as the previous token', rate(e.repeat_rate)],
    ['prefetch guess right (read ahead)', `${rate(e.prefetch_accuracy)} (${rate(e.prefetched_share)} of reads)`],
    ['expert load ms: compute thread', f2(e.load_ms_per_step)],
    ['expert load ms: prefetch thread (waited)', `${f2(e.prefetch_load_ms_per_step)} (${f2(e.wait_ms_per_step)})`],
    ['expert create_layer ms', f2(e.create_ms_per_step)],
    ['ms per expert read', e.load_ms_per_expert === null ? 'n/a' : f2(e.load_ms_per_expert)],
    ['MiB read (whole layers)', `${mib(e.bytes_per_step)} (${mib(e.whole_layer_bytes_per_step)})`],
    ['largest share of a sparse layer read', pct(e.max_layer_read_share)],
    ['working set (distinct experts used)', `${mib(e.working_set_bytes)} · cache ${e.cache_bytes === null ? 'unbounded (resident)' : mib(e.cache_bytes)}`],
  ];
  return {
    title: `Experts (median per ${perStep}; ${e.sparse_layers} sparse layers, top-${e.top_k} of ${e.num_experts}, ${mib(e.expert_bytes)} each${e.streaming ? '' : ', whole-layer streaming'})`,
    head: ['metric', 'value'],
    rows,
  };
}

export function footer(summary: ProfileSummary): string[] {
  const perStep = summary.decode.steps > 0 ? 'decode step' : 'prefill';
  return [
    `read ${mib(summary.bytes_read.median)} per run, ${mib(summary.bytes_per_decode_step)} per ${perStep} (weights ${dtypeMix(summary.dtypes)})`,
    sourceLine(summary),
    `peak RSS ${mib(summary.peak_rss_bytes)} · overlap efficiency ${f2(summary.overlap_efficiency.median)} (max(Σload, Σcompute) / wall)`,
    `verdict: ${summary.verdict.line}`,
  ];
}

/** Where the bytes read came from, and how the read rate compares with what the disk can do. */
function sourceLine(s: ProfileSummary): string {
  const from = s.device_bytes_read && s.page_cache_share !== null
    ? `the disk delivered ${mib(s.device_bytes_read.median)} per run: the page cache served ${pct(s.page_cache_share)} of the bytes read`
    : 'device bytes not counted here (no /proc/self/io read_bytes): disk and page cache cannot be told apart';
  const limit = s.device_read_limit_mb_per_s;
  if (!s.read_mb_per_s || !limit) return from;
  const read = f1(s.read_mb_per_s.median);
  const rate = s.verdict.bottleneck === 'page-cache' || (s.page_cache_share !== null && s.page_cache_share > 1 - DISK_SHARE)
    ? `loads read ${read} MB/s from the page cache; this disk delivers at most ${limit.toFixed(0)} MB/s (env)`
    : `loads read ${read} MB/s; env measured ${limit.toFixed(0)} MB/s for this disk`;
  return `${from} · ${rate}`;
}

/** Units the slowest-units table shows unless told otherwise. */
export const DEFAULT_TOP_LAYERS = 8;

export function profileReport(file: ProfileFile, maxLayers = DEFAULT_TOP_LAYERS): Report {
  const summary = file.summary;
  const vram = summary.vram ? [vramLine(summary.vram)] : [];
  return {
    kind: 'profile',
    title: 'rabbit-bench profile',
    header: headline(file).split('\n'),
    tables: profileTables(summary, maxLayers),
    notes: [...footer(summary), ...vram],
    highlight: `verdict: ${summary.verdict.line}`,
    charts: profileCharts(file),
    data: file,
    csv: profileCsv(file),
  };
}
