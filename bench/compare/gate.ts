// The regression gate's decisions, apart from any engine: the adaptive measuring loop (which
// takes the measuring as a function, so tests drive it with synthetic runs), the model and
// machine checks, and the verdict.
import { performance } from 'node:perf_hooks';
import { UserError } from '../errors.js';
import type { ProfileFile } from '../results/profile-schema.js';
import { readProfileFile } from '../results/read.js';
import { diffProfiles, modelShapeDifferences, type DiffResult, type MetricComparison } from './diff.js';
import type { GateDecision, GateVerdict } from './schema.js';

export interface GateLimits {
  /** Runs between decisions. */
  batch: number;
  minRuns: number;
  maxRuns: number;
  /** Seconds of measuring before giving up as inconclusive. */
  budget: number;
}

/** Usage errors (exit 2) in the run counts and the measuring options. */
export function checkCounts(l: GateLimits, o: { current?: string; baselineEngine?: string } = {}): void {
  for (const [name, v, min] of [['--min-runs', l.minRuns, 2], ['--max-runs', l.maxRuns, 2], ['--batch', l.batch, 1], ['--budget', l.budget, 1]] as const) {
    if (!Number.isFinite(v) || v < min) throw new UserError(`${name} must be >= ${min}`, 2);
  }
  if (l.maxRuns < l.minRuns) throw new UserError('--max-runs must be >= --min-runs', 2);
  if (o.current && o.baselineEngine) throw new UserError('--current and --baseline-engine exclude each other: --baseline-engine measures both builds now', 2);
}

/** The metrics that decide the gate, of a comparison. */
export const decides = (d: DiffResult, metrics: readonly string[]): MetricComparison[] => d.headline.filter((m) => metrics.includes(m.id));

/** Refuses --metric ids that no comparison has (exit 2). */
export function checkMetrics(baseline: ProfileFile, metrics: readonly string[], threshold: number): void {
  const known = diffProfiles(baseline, baseline, { threshold }).headline;
  const unknown = metrics.filter((m) => !known.some((h) => h.id === m));
  if (unknown.length) throw new UserError(`unknown --metric ${unknown.join(', ')}`, 2);
}

export type SideName = 'current' | 'base';

/** One pair of the loop: a measured run of each side, in `order`. */
export interface PairRequest {
  /** 0, 1, 2, ... over the whole gate. */
  index: number;
  /** Which side runs first alternates pair by pair; just ['current'] when unpaired. */
  order: SideName[];
  /** Close every side's engine and open fresh instances, in `order`, before anything else. */
  fresh: boolean;
  /** One warm-up run of each side, in `order`, before the measured runs. */
  warmup: boolean;
}

/** What has been measured so far, as profile files; base is null when only this build is measured. */
export interface MeasuredFiles {
  current: ProfileFile;
  base: ProfileFile | null;
}

/** Measures a batch of pairs, in the order given, and returns every run so far of each side. */
export type MeasureBatch = (pairs: PairRequest[]) => Promise<MeasuredFiles>;

export interface AdaptiveOptions extends GateLimits {
  baseline: ProfileFile;
  threshold: number;
  metrics: readonly string[];
  /** Measure the base build beside this one (--baseline-engine): alternate, fresh instances per pair. */
  paired: boolean;
  log?: (line: string) => void;
  /** Milliseconds, for the budget; performance.now unless a test counts its own. */
  now?: () => number;
}

export interface Measured {
  current: ProfileFile;
  /** The baseline file, or when paired the base build measured beside the current one. */
  base: ProfileFile;
  paired: boolean;
  /** The decisions the loop took, batch by batch (what the log lines say). */
  decisions: GateDecision[];
}

/** The pairs of the batch starting at pair `first`. */
export function batchPairs(first: number, count: number, paired: boolean): PairRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const index = first + i;
    // Each pair gets fresh instances, opened and warmed up (which allocates the resident
    // weights) in alternating order: of two instances of one build, the one that allocated
    // first ran 3-5% slower, every time. Pairs then differ by independent instance effects,
    // which the interval over pairs sees, instead of sharing one bias.
    const order: SideName[] = !paired ? ['current'] : index % 2 === 0 ? ['current', 'base'] : ['base', 'current'];
    return { index, order, fresh: paired && index > 0, warmup: paired || index === 0 };
  });
}

/**
 * Measures in batches until every deciding metric has a verdict, or the budget or --max-runs is
 * spent. Paired, every batch also runs the base build, alternating which goes first, so a change
 * in machine load during the gate hits both sides alike.
 */
export async function measureAdaptively(o: AdaptiveOptions, measureBatch: MeasureBatch): Promise<Measured> {
  const now = o.now ?? (() => performance.now());
  const log = o.log ?? (() => {});
  const started = now();
  const decisions: Measured['decisions'] = [];
  for (let pair = 0; ; pair += o.batch) {
    const files = await measureBatch(batchPairs(pair, o.batch, o.paired));
    if (o.paired && !files.base) throw new Error('a paired gate measured no base runs');
    const measured = files.current.runs.filter((r) => !r.warmup).length;
    const elapsed = (now() - started) / 1000;
    const done = (verdicts: MetricComparison[]) =>
      verdicts.every((v) => v.verdict !== 'inconclusive') || elapsed > o.budget || measured >= o.maxRuns;
    let stop = false;
    if (measured >= o.minRuns) {
      const diff = diffProfiles(files.base ?? o.baseline, files.current, { threshold: o.threshold, metrics: [...o.metrics], paired: o.paired });
      const verdicts = decides(diff, o.metrics);
      decisions.push({ runs: measured, elapsed_s: elapsed, verdicts: verdicts.map((v) => ({ id: v.id, verdict: v.verdict, change: v.change })) });
      log(`gate: ${measured} runs${o.paired ? ' of each build' : ''}, ${elapsed.toFixed(0)} s: ${verdicts.map((v) => `${v.id} ${v.verdict} (${(100 * v.change).toFixed(1)}%)`).join(', ')}`);
      stop = done(verdicts);
    } else if (measured >= o.maxRuns) {
      stop = true;
    }
    if (stop) return { current: files.current, base: files.base ?? o.baseline, paired: o.paired, decisions };
  }
}

/** The gate reruns the baseline's model; under another folder name is fine, another shape is not. */
export function checkSameModel(base: ProfileFile['model'], current: ProfileFile['model'], where: string): void {
  const differences = modelShapeDifferences(base, current);
  if (differences.length) throw new UserError(`gate: ${where} is not the baseline's model ${base.name} (${differences.join(', ')})`, 2);
}

export const fingerprintOf = (file: ProfileFile) => (file.environment as { machine_fingerprint?: string }).machine_fingerprint;

/** Timings from two machines are not comparable: refused unless --force, and then loudly. */
export function checkSameMachine(baseline: ProfileFile, baselinePath: string, here: string | undefined, force: boolean, log: (l: string) => void): void {
  const there = fingerprintOf(baseline);
  if (here !== undefined && here === there) return;
  const msg = `the baseline ${baselinePath} was measured on another machine (${there ?? 'unknown'}; the current run on ${here ?? 'unknown'})`;
  if (!force) throw new UserError(`${msg}: timings are not comparable; re-baseline there, or pass --force`, 2);
  log(`rabbit-bench: WARNING: ${msg}; comparing anyway because of --force`);
}

/** --current: a file that cannot be read is bad input (exit 2), never a regression. */
export function readCurrent(path: string): ProfileFile {
  try {
    return readProfileFile(path);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`--current: ${err.message}`, 2);
    throw err;
  }
}

/** The gate promises to catch changed outputs: a comparison that cannot look at them is refused (exit 2). */
export function checkOutputsComparable(diff: DiffResult): void {
  if (!diff.outputs.comparable) throw new UserError(`gate: the current run's outputs cannot be compared with the baseline's (${diff.outputs.note}): the gate needs the baseline's prompt and token count`, 2);
}

/**
 * The verdict on a comparison: FAIL on a deciding metric significantly slower, on changed outputs,
 * on any of `extraFailures` (parity), or with `strict` on an inconclusive one.
 */
export function gateVerdict(diff: DiffResult, o: { metrics: readonly string[]; strict: boolean; extraFailures?: string[]; decisions?: GateDecision[] }): GateVerdict {
  checkOutputsComparable(diff);
  const deciding = decides(diff, o.metrics);
  const failures = [
    ...deciding.filter((m) => m.verdict === 'slower').map((m) => `${m.label} ${(100 * m.change).toFixed(1)}% slower (99% CI ${(100 * (m.ci.lo - 1)).toFixed(1)}% .. ${(100 * (m.ci.hi - 1)).toFixed(1)}%)`),
    ...(!diff.outputs.identical ? ['generated tokens changed against the baseline'] : []),
    ...(o.extraFailures ?? []),
  ];
  const inconclusive = deciding.filter((m) => m.verdict === 'inconclusive').map((m) => m.label);
  if (o.strict && inconclusive.length) failures.push(`inconclusive: ${inconclusive.join(', ')}`);
  const status = failures.length ? 'FAIL' : inconclusive.length ? 'PASS (inconclusive)' : 'PASS';
  return { status, failures, inconclusive, metrics: [...o.metrics], diff, decisions: o.decisions ?? [] };
}

/** The gate's exit code: 1 on any failure. */
export const gateExitCode = (g: GateVerdict): number => (g.failures.length ? 1 : 0);
