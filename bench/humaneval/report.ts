// A humaneval run as a report: what ran and in which sandbox, the results as tables, and one CSV
// row per sample.
import { basename } from 'node:path';
import type { Report, ReportCsv, ReportTable } from '../report/report.js';
import { humanevalCharts } from './charts.js';
import type { SampleRecord } from './records.js';
import type { HumanevalResult, HumanevalSummary } from './schema.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const f1 = (x: number) => x.toFixed(1);

/** Where the completions came from, as the settings recorded it. */
function sourceLabel(doc: HumanevalResult): string {
  const s = doc.settings;
  if (s.source === 'oracle') return 'canonical solutions (--oracle)';
  if (s.source === 'completions') return `completions from ${s.completions_file}`;
  const decoding = s.sampling?.greedy ? 'greedy' : `T=${s.sampling?.temperature}, ${s.samples} samples`;
  return `${doc.model?.name ?? basename(s.model ?? '')} · ${decoding}, up to ${s.max_new_tokens} new tokens · ${s.style} prompts`;
}

function headline(doc: HumanevalResult): string[] {
  const s = doc.summary;
  const pass1 = s.pass_at_k['1'];
  const box = doc.sandbox;
  const isolation = [
    box.privileges_dropped ? box.user.split(' (')[0] : `as ${box.user}`,
    box.network_isolated ? 'no network' : 'NETWORK NOT ISOLATED',
    box.pid_namespace ? 'own PID namespace' : 'no PID namespace',
    box.private_mounts ? 'private /tmp' : 'shared /tmp',
  ].join(', ');
  return [
    `${basename(doc.dataset.path)} · ${sourceLabel(doc)} · ${s.problems} problems, ${s.samples} samples`,
    `passed ${s.passed}/${s.samples}${pass1 === undefined ? '' : ` · pass@1 ${pct(pass1)}`}` +
      `${s.passed_base === null ? '' : ` · base tests only: ${s.passed_base}/${s.samples}`} · sandbox: ${isolation}, ${box.limits.timeout_s} s, ` +
      `${(box.limits.memory_bytes / 2 ** 20).toFixed(0)} MiB`,
  ];
}

export function summaryTables(s: HumanevalSummary): ReportTable[] {
  const share = (n: number) => (s.samples > 0 ? pct(n / s.samples) : '-');
  const results = [
    ['passed', String(s.passed), share(s.passed)],
    ['failed', String(s.failed), share(s.failed)],
    ['timeout', String(s.timeout), share(s.timeout)],
    ['error (no verdict)', String(s.error), share(s.error)],
    ...Object.entries(s.pass_at_k).map(([k, v]) => [`pass@${k}`, '', pct(v)]),
    ...Object.entries(s.pass_at_k_base ?? {}).map(([k, v]) => [`pass@${k}, base tests only`, '', pct(v)]),
  ];
  const tables: ReportTable[] = [{ title: 'Results', head: ['', 'samples', 'share'], rows: results }];
  const g = s.generation;
  if (g) {
    const rate = (x: number | null) => (x === null ? 'n/a' : x.toFixed(1));
    tables.push({
      title: `Generation (${g.samples} generations)`,
      head: ['metric', 'value'],
      rows: [
        ['prompt tokens', String(g.prompt_tokens)],
        ['generated tokens (kept up to the stop)', `${g.generated_tokens} (${g.completion_tokens})`],
        ['generation time (s)', g.generation_s.toFixed(2)],
        ['tok/s (prefill included)', rate(g.tokens_per_s)],
        ['decode tok/s', rate(g.decode_tokens_per_s)],
        ['stopped by: stop sequence / EOS / max tokens', `${g.stop_reasons.stop_sequence} / ${g.stop_reasons.eos} / ${g.stop_reasons.max_new_tokens}`],
      ],
    });
    const wallMs = g.generation_s * 1000;
    tables.push({
      title: 'Engine phases, summed over all generations (ms)',
      head: ['phase', 'total', 'share of generation time'],
      rows: Object.entries(g.phases_ms)
        .filter(([k]) => k !== 'background_load')
        .map(([k, v]) => {
          // As in the profile: prefetched loads overlap compute, so their share is not of the wall time.
          const background = k === 'load_safe_tensor' && g.phases_ms.background_load > 0;
          return [background ? 'load_safe_tensor (prefetch thread)' : k, f1(v), background ? 'overlapped' : wallMs > 0 ? pct(v / wallMs) : '-'];
        }),
    });
  }
  if (s.error_kinds.length > 0) {
    tables.push({ title: 'Why samples did not pass (most common)', head: ['kind', 'samples'], rows: s.error_kinds.map((e) => [e.kind, String(e.count)]) });
  }
  if (s.hf) {
    const rows = [['identical to transformers', `${s.hf.identical}/${s.hf.compared}`]];
    for (const d of s.hf.diverged.slice(0, 10)) rows.push([d.task_id, d.note ?? `differs from token ${d.first_divergence}`]);
    tables.push({ title: 'Greedy completions: engine vs Hugging Face transformers', head: ['', ''], rows });
  }
  return tables;
}

/** Null records file: a result merged from shards, whose records are in each shard's. */
function footer(s: HumanevalSummary, recordsFile: string | null): string[] {
  const lines = [`wall ${s.wall_s.toFixed(1)} s this session · sandboxed execution ${s.exec_s.toFixed(1)} s in all${recordsFile === null ? '' : ` · records: ${recordsFile}`}`];
  if (s.survivors > 0) lines.push(`WARNING: ${s.survivors} sandbox process(es) outlived their program and had to be killed afterwards`);
  return lines;
}

const CSV_COLUMNS = [
  'task_id', 'sample', 'status', 'error', 'exec_ms', 'base_passed', 'base_total', 'plus_passed', 'plus_total',
  'prompt_tokens', 'generated_tokens', 'completion_tokens', 'stop_reason', 'generation_ms', 'tokens_per_s', 'ttft_ms', 'decode_tokens_per_s',
  'load_safe_tensor_ms', 'load_safe_tensor_cpu_wait_ms', 'create_layer_ms', 'forward_per_layer_ms', 'kv_fill_ms', 'sampling_ms', 'unaccounted_ms',
  'hf_identical', 'hf_first_divergence',
];

function recordsCsv(records: SampleRecord[]): ReportCsv {
  const rows = records.map((r) => {
    const g = r.generation;
    const p = g?.phases_ms;
    return [
      r.task_id, r.sample, r.status, r.error, r.exec_ms, r.base?.passed ?? null, r.base?.total ?? null, r.plus?.passed ?? null, r.plus?.total ?? null,
      g?.prompt_tokens ?? null, g?.generated_tokens ?? null, g?.completion_tokens ?? null, g?.stop_reason ?? null, g?.generation_ms ?? null, g?.tokens_per_s ?? null,
      g?.ttft_ms ?? null, g?.decode_tokens_per_s ?? null,
      p?.load_safe_tensor ?? null, p?.load_safe_tensor_cpu_wait ?? null, p?.create_layer ?? null, p?.forward_per_layer ?? null, p?.kv_fill ?? null,
      p?.sampling ?? null, p?.unaccounted ?? null,
      r.hf?.identical ?? null, r.hf?.first_divergence ?? null,
    ];
  });
  return { columns: CSV_COLUMNS, rows };
}

/** The whole report, from the result document alone. */
export function humanevalReport(doc: HumanevalResult): Report {
  return {
    kind: 'humaneval',
    title: 'rabbit-bench humaneval',
    header: headline(doc),
    tables: summaryTables(doc.summary),
    charts: humanevalCharts(doc),
    notes: footer(doc.summary, doc.records_file),
    data: doc,
    csv: recordsCsv(doc.records),
  };
}
