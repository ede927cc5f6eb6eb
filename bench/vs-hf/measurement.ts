// From what a child process measured to the figures the table compares. The engine child's
// report is made here too (from the engine's step records), so both sides are tested alike.
import type { NativeBuildInfo } from '../engine/native.js';
import type { StepRecord } from '../engine/records.js';
import { summarizeSteps } from '../engine/summary.js';
import { computeNs, stepTotals } from '../profile/phases.js';
import { ENGINE_SPEED_SCHEMA, type DecodePhases, type DtypeFlag, type EngineSpeed, type HfSpeed, type Measurement, type Runner } from './schema.js';

export interface EngineRun {
  mode: 'resident' | 'streaming';
  threads: number;
  build: NativeBuildInfo;
  tokens: number[];
  steps: StepRecord[];
  generateWallS: number;
  peakRssBytes: number;
  cpuS: number;
}

/** The decode steps' phase sums: the streaming check compares their wall with max(Σload, Σcompute). */
export function decodePhases(steps: readonly StepRecord[]): DecodePhases {
  const decode = steps.filter((s) => s.kind === 'decode');
  const t = stepTotals(decode);
  return { steps: decode.length, wall_ns: t.wall, load_ns: t.phases.load_safe_tensor, compute_ns: computeNs(t), bytes_read: t.bytesRead };
}

export function engineSpeedReport(run: EngineRun): EngineSpeed {
  const t = summarizeSteps(run.steps, run.tokens.length);
  const phases = decodePhases(run.steps);
  return {
    schema: ENGINE_SPEED_SCHEMA,
    mode: run.mode,
    threads: run.threads,
    build: { ...run.build },
    prompt_tokens: t.prompt_tokens,
    decode_tokens: phases.steps,
    prefill_s: t.ttft_ms / 1e3,
    decode_s: t.decode_ms / 1e3,
    generate_wall_s: run.generateWallS,
    peak_rss_bytes: run.peakRssBytes,
    cpu_s: run.cpuS,
    tokens: run.tokens,
    decode_phases: phases,
  };
}

interface Where {
  round: number;
  model: string;
  dtype: DtypeFlag;
  runner: Runner;
}

/** How the child process went, seen from the parent. */
export interface ChildRun {
  wallS: number;
  otherCores: number | null;
}

const rate = (tokens: number, seconds: number) => (tokens > 0 && seconds > 0 ? tokens / seconds : null);

export function measurementFrom(where: Where, child: ChildRun, r: EngineSpeed | HfSpeed): Measurement {
  return {
    ...where,
    error: null,
    prefill_tok_s: rate(r.prompt_tokens, r.prefill_s),
    decode_tok_s: rate(r.decode_tokens, r.decode_s),
    peak_rss_bytes: r.peak_rss_bytes,
    threads: r.threads,
    wall_s: child.wallS,
    other_cores: child.otherCores,
    tokens: r.tokens,
    decode_phases: 'decode_phases' in r ? r.decode_phases : null,
    raw: r,
  };
}

export function failedMeasurement(where: Where, child: ChildRun, error: string): Measurement {
  return {
    ...where, error, prefill_tok_s: null, decode_tok_s: null, peak_rss_bytes: null, threads: null,
    wall_s: child.wallS, other_cores: child.otherCores, tokens: [], decode_phases: null, raw: null,
  };
}

/** Σwall / max(Σload, Σcompute) over the decode steps: 1 when loading hides behind compute or the reverse. */
export function wallOverBound(p: DecodePhases): number | null {
  const bound = Math.max(p.load_ns, p.compute_ns);
  return bound > 0 && p.wall_ns > 0 ? p.wall_ns / bound : null;
}
