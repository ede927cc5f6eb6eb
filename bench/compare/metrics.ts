// Per-run samples of every metric a comparison looks at, taken from a result file's raw steps.
import type { StepRecord } from '../engine/records.js';
import { PHASES, stepTotals, unitPhaseNs } from '../profile/phases.js';
import type { ProfileFile } from '../results/profile-schema.js';
import { fromStepSample } from '../results/samples.js';

/** A measured run: its steps, and its process CPU time when the file recorded it. */
export interface MeasuredRun {
  steps: StepRecord[];
  cpuNs?: number;
}

export interface MetricDef {
  id: string;
  label: string;
  unit: 'ms' | 'tok/s' | 'MiB';
  better: 'lower' | 'higher';
  /** One value per measured run. */
  samples(runs: StepRecord[][], measured: MeasuredRun[]): number[];
}

const ms = (ns: number) => ns / 1e6;
const stepNs = (s: StepRecord) => s.wallNs + s.sampleNs;
const decodeSteps = (steps: StepRecord[]) => steps.filter((s) => s.kind === 'decode');

export function measuredRuns(file: ProfileFile): MeasuredRun[] {
  return file.runs.filter((r) => !r.warmup).map((r) => ({ steps: r.steps.map((s) => fromStepSample(s, file.unit_names)), cpuNs: r.cpu_ns }));
}

export const HEADLINE_METRICS: MetricDef[] = [
  {
    id: 'cpu_ms', label: 'CPU time per run', unit: 'ms', better: 'lower',
    samples: (_runs, measured) => (measured.every((r) => r.cpuNs !== undefined) ? measured.map((r) => ms(r.cpuNs!)) : []),
  },
  { id: 'wall_ms', label: 'wall per run', unit: 'ms', better: 'lower', samples: (runs) => runs.map((steps) => ms(steps.reduce((a, s) => a + stepNs(s), 0))) },
  { id: 'ttft_ms', label: 'TTFT', unit: 'ms', better: 'lower', samples: (runs) => runs.map((steps) => ms(stepNs(steps.find((s) => s.kind === 'prefill')!))) },
  {
    id: 'decode_ms_per_token', label: 'decode ms/token', unit: 'ms', better: 'lower',
    samples: (runs) => runs.filter((s) => decodeSteps(s).length > 0).map((steps) => ms(decodeSteps(steps).reduce((a, s) => a + stepNs(s), 0)) / decodeSteps(steps).length),
  },
  {
    id: 'decode_tok_per_s', label: 'decode tok/s', unit: 'tok/s', better: 'higher',
    samples: (runs) => runs.filter((s) => decodeSteps(s).length > 0).map((steps) => decodeSteps(steps).length / (decodeSteps(steps).reduce((a, s) => a + stepNs(s), 0) / 1e9)),
  },
  ...PHASES.map((p): MetricDef => ({ id: `phase.${p}`, label: p, unit: 'ms', better: 'lower', samples: (runs) => runs.map((steps) => ms(stepTotals(steps).phases[p])) })),
  { id: 'phase.unaccounted', label: 'unaccounted', unit: 'ms', better: 'lower', samples: (runs) => runs.map((steps) => ms(stepTotals(steps).unaccounted)) },
  { id: 'peak_rss', label: 'peak RSS', unit: 'MiB', better: 'lower', samples: (runs) => runs.map((steps) => Math.max(...steps.map((s) => s.peakRssBytes)) / 2 ** 20) },
  { id: 'bytes_read', label: 'bytes read', unit: 'MiB', better: 'lower', samples: (runs) => runs.map((steps) => stepTotals(steps).bytesRead / 2 ** 20) },
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
