// Per-run samples of every metric a comparison looks at, taken from a result file's raw steps.
import type { StepRecord } from '../engine/records.js';
import { summarizeSteps } from '../engine/summary.js';
import { PHASES, stepTotals, unitPhaseNs } from '../profile/phases.js';
import type { ProfileFile } from '../results/profile-schema.js';
import { fromStepSample } from '../results/samples.js';

/** A measured run: its steps, and its process CPU time when the file recorded it. */
export interface MeasuredRun {
  steps: StepRecord[];
  cpuNs?: number;
}

export const METRIC_UNITS = ['ms', 'tok/s', 'MiB'] as const;
export type MetricUnit = (typeof METRIC_UNITS)[number];

export interface MetricDef {
  id: string;
  label: string;
  unit: MetricUnit;
  better: 'lower' | 'higher';
  /** One value per measured run. */
  samples(runs: StepRecord[][], measured: MeasuredRun[]): number[];
}

const ms = (ns: number) => ns / 1e6;
/** A run's headline timings, derived where every command derives them. */
const timings = (runs: StepRecord[][]) => runs.map((steps) => summarizeSteps(steps, steps.length));
const present = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);

export function measuredRuns(file: ProfileFile): MeasuredRun[] {
  return file.runs.filter((r) => !r.warmup).map((r) => ({ steps: r.steps.map((s) => fromStepSample(s, file.unit_names)), cpuNs: r.cpu_ns }));
}

export const HEADLINE_METRICS: MetricDef[] = [
  {
    id: 'cpu_ms', label: 'CPU time per run', unit: 'ms', better: 'lower',
    samples: (_runs, measured) => (measured.every((r) => r.cpuNs !== undefined) ? measured.map((r) => ms(r.cpuNs!)) : []),
  },
  { id: 'wall_ms', label: 'wall per run', unit: 'ms', better: 'lower', samples: (runs) => timings(runs).map((t) => t.total_ms) },
  { id: 'ttft_ms', label: 'TTFT', unit: 'ms', better: 'lower', samples: (runs) => timings(runs).map((t) => t.ttft_ms) },
  { id: 'decode_ms_per_token', label: 'decode ms/token', unit: 'ms', better: 'lower', samples: (runs) => present(timings(runs).map((t) => t.ms_per_token)) },
  { id: 'decode_tok_per_s', label: 'decode tok/s', unit: 'tok/s', better: 'higher', samples: (runs) => present(timings(runs).map((t) => t.decode_tokens_per_s)) },
  ...PHASES.map((p): MetricDef => ({ id: `phase.${p}`, label: p, unit: 'ms', better: 'lower', samples: (runs) => runs.map((steps) => ms(stepTotals(steps).phases[p])) })),
  { id: 'phase.unaccounted', label: 'unaccounted', unit: 'ms', better: 'lower', samples: (runs) => runs.map((steps) => ms(stepTotals(steps).unaccounted)) },
  { id: 'peak_rss', label: 'peak RSS', unit: 'MiB', better: 'lower', samples: (runs) => timings(runs).map((t) => t.peak_rss_bytes / 2 ** 20) },
  { id: 'bytes_read', label: 'bytes read', unit: 'MiB', better: 'lower', samples: (runs) => timings(runs).map((t) => t.bytes_read / 2 ** 20) },
];

/** Per unit and phase: the unit's total for the phase over a run's steps. */
export function layerMetrics(unitNames: readonly string[]): MetricDef[] {
  return unitNames.flatMap((name, i) =>
    PHASES.map((p): MetricDef => ({
      id: `layer.${name}.${p}`,
      label: `${name} ${p}`,
      unit: 'ms',
      better: 'lower',
      samples: (runs) => runs.map((steps) => ms(steps.reduce((a, s) => a + unitPhaseNs(s.units[i], p), 0))),
    })),
  );
}
