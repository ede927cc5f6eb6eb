// Runs the same generation repeatedly (warm-up first) and keeps every raw step record.
import type { TokenGenerator } from '../engine/engine.js';
import { toStepSample } from '../results/samples.js';
import type { CacheMode, RunSample } from '../results/profile-schema.js';
import type { TracedRun } from '../trace/chrome-trace.js';

export interface MeasureOptions {
  promptIds: number[];
  maxNewTokens: number;
  runs: number;
  warmup: number;
  /** What the runs do to the page cache, recorded with each run; default warm. */
  cache?: CacheMode;
  /** Called before every run (warm-ups included) to drop the model files from the page cache. */
  evict?: () => Promise<void>;
  /** Called after every generated token of every run. */
  onToken?: () => void;
  /** Keep every run's timeline, for a trace file. */
  trace?: boolean;
}

export interface MeasuredRuns {
  runs: RunSample[];
  /** Unit names as the engine reports them (embed, layers.N, lm_head); the samples' column order. */
  unitNames: string[];
  /** With MeasureOptions.trace: every run's raw steps, spans included. */
  traces: TracedRun[];
}

export async function measureRuns(engine: TokenGenerator, o: MeasureOptions): Promise<MeasuredRuns> {
  const total = o.warmup + o.runs;
  const runs: RunSample[] = [];
  const traces: TracedRun[] = [];
  let unitNames: string[] = [];
  for (let i = 0; i < total; i++) {
    if (o.evict) await o.evict();
    // A fixed token count per run (no EOS stop) keeps runs comparable sample for sample.
    const cpuBefore = engine.cpuNs();
    const result = await engine.generate({ promptIds: o.promptIds, maxNewTokens: o.maxNewTokens, stopOnEos: false, trace: o.trace }, o.onToken);
    const cpuNs = engine.cpuNs() - cpuBefore;
    unitNames = result.steps[0].units.map((u) => u.name);
    runs.push({
      index: i,
      warmup: i < o.warmup,
      cache: o.cache ?? 'warm',
      stop_reason: result.stopReason,
      cpu_ns: cpuNs,
      tokens: result.tokens,
      steps: result.steps.map(toStepSample),
    });
    if (o.trace) traces.push({ index: i, warmup: i < o.warmup, steps: result.steps });
  }
  return { runs, unitNames, traces };
}
