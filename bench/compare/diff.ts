// Two result files, metric by metric: medians, change, interval, verdict.
import { median } from '../stats.js';
import type { ProfileFile } from '../results/profile-schema.js';
import { pairedRatioCI, ratioOfMediansCI } from './bootstrap.js';
import { decide } from './decide.js';
import { HEADLINE_METRICS, layerMetrics, measuredRuns, type MeasuredRun, type MetricDef } from './metrics.js';
import { DIFF_SCHEMA, type DiffResult, type DiffSide, type MetricComparison } from './schema.js';

export type { DiffResult, MetricComparison } from './schema.js';

function compareMetric(def: MetricDef, base: MeasuredRun[], current: MeasuredRun[], threshold: number, paired: boolean): MetricComparison | undefined {
  const b = def.samples(base.map((r) => r.steps), base);
  const c = def.samples(current.map((r) => r.steps), current);
  if (b.length === 0 || c.length === 0) return undefined;
  const ci = paired && b.length === c.length ? pairedRatioCI(b, c) : ratioOfMediansCI(b, c);
  const mb = median(b);
  const mc = median(c);
  const change = mb === 0 ? NaN : paired ? ci.ratio - 1 : (mc - mb) / mb;
  return {
    id: def.id, label: def.label, unit: def.unit, better: def.better, base: mb, current: mc, change, ci,
    // A metric that is zero on both sides (e.g. no cpu_wait when resident) has not changed.
    verdict: mb === 0 && mc === 0 ? 'no change' : decide(ci, def.better, threshold),
    samples: { base: b.length, current: c.length },
  };
}

function fingerprint(file: ProfileFile): string | null {
  const f = (file.environment as { machine_fingerprint?: unknown }).machine_fingerprint;
  return typeof f === 'string' ? f : null;
}

/** Settings that change what the timings measure (device, streaming, the page cache, threads). */
const TIMING_SETTINGS = ['device', 'prefetch', 'resident', 'cold', 'io', 'experts', 'threads'] as const;

export function settingDifferences(base: ProfileFile['settings'], current: ProfileFile['settings']): string[] {
  const show = (v: unknown) => JSON.stringify(v);
  return TIMING_SETTINGS.filter((k) => show(base[k]) !== show(current[k])).map((k) => `${k} ${show(base[k])} vs ${show(current[k])}`);
}

const MODEL_SHAPE = ['architecture', 'dtype', 'params', 'weight_bytes', 'num_layers', 'hidden_size'] as const;

/** How two results' models differ in shape, e.g. `params 260 vs 300`; empty when they agree. */
export function modelShapeDifferences(base: ProfileFile['model'], current: ProfileFile['model']): string[] {
  return MODEL_SHAPE.filter((k) => base[k] !== current[k]).map((k) => `${k} ${base[k]} vs ${current[k]}`);
}

/**
 * Did the engine produce the same tokens? Only meaningful for the same model and prompt. A
 * model is the same one when its shape and name agree, or, with `opts.sameModel` (the gate, which
 * reruns the baseline's workload), when its shape agrees under any folder name.
 */
function compareOutputs(base: ProfileFile, current: ProfileFile, assumeSameModel: boolean): DiffResult['outputs'] {
  const sameModel = modelShapeDifferences(base.model, current.model).length === 0 && (assumeSameModel || base.model.name === current.model.name);
  const samePrompt = JSON.stringify(base.prompt_ids ?? null) === JSON.stringify(current.prompt_ids ?? null) && base.prompt_ids !== undefined;
  if (!sameModel || !samePrompt || base.settings.max_new_tokens !== current.settings.max_new_tokens) {
    return { comparable: false, identical: false, note: 'different model, prompt or length: outputs not compared' };
  }
  const expected = JSON.stringify(base.runs[0].tokens);
  const identical = [...base.runs, ...current.runs].every((r) => JSON.stringify(r.tokens) === expected);
  return { comparable: true, identical, note: identical ? 'generated tokens identical' : 'generated tokens CHANGED' };
}

function side(file: ProfileFile): DiffSide {
  const commit = file.metadata.git_commit;
  return {
    model: file.model.name,
    created_at: file.created_at,
    git_commit: typeof commit === 'string' ? commit : null,
    engine_build: file.engine.build,
    measured_runs: file.runs.filter((r) => !r.warmup).length,
  };
}

export function diffProfiles(base: ProfileFile, current: ProfileFile, opts: { threshold: number; metrics?: string[]; paired?: boolean; sameModel?: boolean }): DiffResult {
  const b = measuredRuns(base);
  const c = measuredRuns(current);
  const paired = (opts.paired ?? false) && b.length === c.length;
  const wanted = (id: string) => !opts.metrics || opts.metrics.some((m) => id === m || id.startsWith(`${m}.`));
  const compareAll = (defs: MetricDef[]) =>
    defs.filter((d) => wanted(d.id)).map((d) => compareMetric(d, b, c, opts.threshold, paired)).filter((x): x is MetricComparison => x !== undefined);
  const sharedUnits = base.unit_names.join() === current.unit_names.join() ? base.unit_names : [];
  return {
    schema: DIFF_SCHEMA,
    threshold: opts.threshold,
    confidence: 0.99,
    paired,
    sameMachine: fingerprint(base) !== null && fingerprint(base) === fingerprint(current),
    baseFingerprint: fingerprint(base),
    currentFingerprint: fingerprint(current),
    settingDifferences: settingDifferences(base.settings, current.settings),
    base: side(base),
    current: side(current),
    headline: compareAll(HEADLINE_METRICS),
    layers: compareAll(layerMetrics(sharedUnits)),
    outputs: compareOutputs(base, current, opts.sameModel ?? false),
  };
}
