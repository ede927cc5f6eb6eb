// pass@k and the run's totals, from the sample records.
import type { SampleRecord } from './records.js';
import { PHASE_KEYS, type GenerationSummary, type HfSummary, type HumanevalSummary } from './schema.js';

/** The unbiased estimator of Chen et al. (2021): 1 - C(n-c, k) / C(n, k), as a stable product. */
export function passAtK(n: number, c: number, k: number): number {
  if (n - c < k) return 1;
  let missAll = 1;
  for (let i = n - c + 1; i <= n; i++) missAll *= 1 - k / i;
  return 1 - missAll;
}

/** Mean pass@k over problems, for every k in 1, 10, 100 that each problem has enough samples for. */
export function passAtKTable(counts: { n: number; c: number }[]): Record<string, number> {
  const minN = Math.min(...counts.map((x) => x.n));
  const out: Record<string, number> = {};
  for (const k of [1, 10, 100]) {
    if (counts.length === 0 || k > minN) continue;
    out[String(k)] = counts.reduce((a, x) => a + passAtK(x.n, x.c, k), 0) / counts.length;
  }
  return out;
}

function byProblem(records: SampleRecord[], passed: (r: SampleRecord) => boolean): { n: number; c: number }[] {
  const counts = new Map<string, { n: number; c: number }>();
  for (const r of records) {
    const x = counts.get(r.task_id) ?? { n: 0, c: 0 };
    x.n += 1;
    if (passed(r)) x.c += 1;
    counts.set(r.task_id, x);
  }
  return [...counts.values()];
}

function errorKinds(records: SampleRecord[]): { kind: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const r of records) {
    if (r.status === 'passed' || !r.error) continue;
    const kind = r.status === 'timeout' ? 'timeout' : (/^([A-Za-z_][\w.]*(Error|Exception|Exit))\b/.exec(r.error)?.[1] ?? r.error.split(/[:(]/)[0].trim().slice(0, 60));
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts.entries()].map(([kind, count]) => ({ kind, count })).sort((a, b) => b.count - a.count).slice(0, 8);
}

function generationSummary(records: SampleRecord[]): GenerationSummary | null {
  const gens = records.flatMap((r) => (r.generation ? [r.generation] : []));
  if (gens.length === 0) return null;
  const sum = (f: (g: (typeof gens)[number]) => number) => gens.reduce((a, g) => a + f(g), 0);
  const generationMs = sum((g) => g.generation_ms);
  const decodeMs = sum((g) => g.generation_ms - g.ttft_ms);
  const decodeSteps = sum((g) => Math.max(0, g.generated_tokens - 1));
  const stops = { stop_sequence: 0, eos: 0, max_new_tokens: 0 };
  for (const g of gens) stops[g.stop_reason] += 1;
  return {
    samples: gens.length,
    prompt_tokens: sum((g) => g.prompt_tokens),
    generated_tokens: sum((g) => g.generated_tokens),
    completion_tokens: sum((g) => g.completion_tokens),
    generation_s: generationMs / 1000,
    tokens_per_s: generationMs > 0 ? sum((g) => g.generated_tokens) / (generationMs / 1000) : null,
    decode_tokens_per_s: decodeMs > 0 && decodeSteps > 0 ? decodeSteps / (decodeMs / 1000) : null,
    stop_reasons: stops,
    phases_ms: Object.fromEntries(PHASE_KEYS.map((k) => [k, sum((g) => g.phases_ms[k])])) as GenerationSummary['phases_ms'],
  };
}

function hfSummary(records: SampleRecord[]): HfSummary | null {
  const compared = records.filter((r) => r.hf);
  if (compared.length === 0) return null;
  return {
    compared: compared.length,
    identical: compared.filter((r) => r.hf!.identical).length,
    diverged: compared.filter((r) => !r.hf!.identical).map((r) => ({ task_id: r.task_id, first_divergence: r.hf!.first_divergence, note: r.hf!.note })),
  };
}

export function summarize(records: SampleRecord[], opts: { plus: boolean; wallMs: number }): HumanevalSummary {
  const count = (s: SampleRecord['status']) => records.filter((r) => r.status === s).length;
  const baseOk = (r: SampleRecord) => r.base !== null && r.base.passed === r.base.total && r.status !== 'error';
  return {
    problems: new Set(records.map((r) => r.task_id)).size,
    samples: records.length,
    passed: count('passed'),
    failed: count('failed'),
    timeout: count('timeout'),
    error: count('error'),
    pass_at_k: passAtKTable(byProblem(records, (r) => r.status === 'passed')),
    passed_base: opts.plus ? records.filter(baseOk).length : null,
    pass_at_k_base: opts.plus ? passAtKTable(byProblem(records, baseOk)) : null,
    error_kinds: errorKinds(records),
    exec_s: records.reduce((a, r) => a + (r.exec_ms ?? 0), 0) / 1000,
    wall_s: opts.wallMs / 1000,
    survivors: records.reduce((a, r) => a + r.survivors, 0),
    generation: generationSummary(records),
    hf: hfSummary(records),
  };
}
