// The run as tables (terminal and Markdown share bench/profile/render.ts), and one CSV row per sample.
import { stringify } from 'csv-stringify/sync';
import type { ReportTable } from '../report/report.js';
import type { SampleRecord } from './records.js';
import type { SandboxReport } from './sandbox-probe.js';
import type { HumanevalSummary } from './score.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const f1 = (x: number) => x.toFixed(1);

export function headline(opts: { dataset: string; source: string; summary: HumanevalSummary; sandbox: SandboxReport }): string {
  const s = opts.summary;
  const pass1 = s.pass_at_k['1'];
  const box = opts.sandbox;
  const isolation = [
    box.privileges_dropped ? box.user.split(' (')[0] : `as ${box.user}`,
    box.network_isolated ? 'no network' : 'NETWORK NOT ISOLATED',
    box.pid_namespace ? 'own PID namespace' : 'no PID namespace',
    box.private_mounts ? 'private /tmp' : 'shared /tmp',
  ].join(', ');
  return (
    `${opts.dataset} · ${opts.source} · ${s.problems} problems, ${s.samples} samples\n` +
    `passed ${s.passed}/${s.samples}${pass1 === undefined ? '' : ` · pass@1 ${pct(pass1)}`}` +
    `${s.passed_base === null ? '' : ` · base tests only: ${s.passed_base}/${s.samples}`} · sandbox: ${isolation}, ${box.limits.timeout_s} s, ` +
    `${(box.limits.memory_bytes / 2 ** 20).toFixed(0)} MiB`
  );
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

export function footer(s: HumanevalSummary, recordsPath: string): string[] {
  const lines = [`wall ${s.wall_s.toFixed(1)} s this session · sandboxed execution ${s.exec_s.toFixed(1)} s in all · records: ${recordsPath}`];
  if (s.survivors > 0) lines.push(`WARNING: ${s.survivors} sandbox process(es) outlived their program and had to be killed afterwards`);
  return lines;
}

const CSV_COLUMNS = [
  'task_id', 'sample', 'status', 'error', 'exec_ms', 'base_passed', 'base_total', 'plus_passed', 'plus_total',
  'prompt_tokens', 'generated_tokens', 'completion_tokens', 'stop_reason', 'generation_ms', 'tokens_per_s', 'ttft_ms', 'decode_tokens_per_s',
  'load_safe_tensor_ms', 'load_safe_tensor_cpu_wait_ms', 'create_layer_ms', 'forward_per_layer_ms', 'kv_fill_ms', 'sampling_ms', 'unaccounted_ms',
  'hf_identical', 'hf_first_divergence',
];

export function recordsCsv(records: SampleRecord[]): string {
  const rows = records.map((r) => {
    const g = r.generation;
    const p = g?.phases_ms;
    return [
      r.task_id, r.sample, r.status, r.error ?? '', r.exec_ms ?? '', r.base?.passed ?? '', r.base?.total ?? '', r.plus?.passed ?? '', r.plus?.total ?? '',
      g?.prompt_tokens ?? '', g?.generated_tokens ?? '', g?.completion_tokens ?? '', g?.stop_reason ?? '', g?.generation_ms ?? '', g?.tokens_per_s ?? '',
      g?.ttft_ms ?? '', g?.decode_tokens_per_s ?? '',
      p?.load_safe_tensor ?? '', p?.load_safe_tensor_cpu_wait ?? '', p?.create_layer ?? '', p?.forward_per_layer ?? '', p?.kv_fill ?? '', p?.sampling ?? '', p?.unaccounted ?? '',
      r.hf?.identical ?? '', r.hf?.first_divergence ?? '',
    ];
  });
  return stringify(rows, { header: true, columns: CSV_COLUMNS });
}
