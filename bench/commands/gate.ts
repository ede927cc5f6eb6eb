// `rabbit-bench gate`: the CI regression gate. Exit 1 on a significant regression beyond the
// threshold, on changed outputs, or on a parity failure; 0 otherwise; 2 on usage/environment.
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadBaseline } from '../compare/baseline.js';
import { diffProfiles, modelShapeDifferences, type DiffResult } from '../compare/diff.js';
import { gateReport, type GateResult } from '../compare/render.js';
import { collectEnvironment, runMetadata } from '../env/environment.js';
import { InferenceEngine } from '../engine/engine.js';
import { loadAddon, type NativeBuildInfo } from '../engine/native.js';
import { NonFiniteError, UserError } from '../errors.js';
import { buildLoadPlan } from '../model/plan.js';
import { modelArgument } from '../model/resolve.js';
import { DEFAULT_SHAPE, ensureDefaultModel } from '../profile/default-model.js';
import { measureRuns } from '../profile/measure.js';
import { modelInfo } from '../profile/model-info.js';
import { promptOfLength } from '../profile/prompt.js';
import { buildProfileFile } from '../profile/result.js';
import { profileReport } from '../profile/render.js';
import { render, saveReport, type Format } from '../report/print.js';
import { F32_TOLERANCE } from '../reference/compare.js';
import { readReference } from '../reference/reference-file.js';
import { runParity } from '../reference/run-parity.js';
import { prepareOutDir } from '../results/files.js';
import type { ProfileFile, RunSample } from '../results/profile-schema.js';
import { readProfileFile } from '../results/read.js';
import { appendStepSummary, parseThreshold } from './diff.js';
import { outputFormat, withFormatOptions, withSaveOptions } from './options.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return withSaveOptions(withFormatOptions(y))
    .option('baseline', { type: 'string', demandOption: true, describe: 'baseline profile JSON, or a folder (newest matching file is used)' })
    .option('current', { type: 'string', describe: 'compare this result instead of measuring now' })
    .option('baseline-engine', {
      type: 'string',
      describe: "the base commit's engine build (its build/Release/rabbit_native.node): measure it and this build alternately, run for run, and compare those instead of the baseline file's samples; the file still gives the workload, prompt and machine. Immune to the machine drifting between baseline and gate",
    })
    .option('threshold', { type: 'string', default: '5%', describe: 'smallest slowdown that must fail the gate' })
    .option('metric', { type: 'array', string: true, default: ['cpu_ms'], describe: 'metrics that decide (others are shown); cpu_ms resists other processes taking the cores, add wall_ms to gate on wall time too' })
    .option('model', { type: 'string', describe: "model to measure (default: the baseline's)" })
    .option('budget', { type: 'number', default: 100, describe: 'seconds of measuring before giving up as inconclusive' })
    .option('min-runs', { type: 'number', default: 5 })
    .option('max-runs', { type: 'number', default: 200 })
    .option('batch', { type: 'number', default: 3, describe: 'runs between decisions' })
    .option('reference', { type: 'string', describe: 'HF reference JSON: any parity failure fails the gate' })
    .option('force', { type: 'boolean', default: false, describe: 'compare even though the baseline comes from another machine' })
    .option('strict', { type: 'boolean', default: false, describe: 'fail when the result stays inconclusive' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

function checkCounts(a: Args): void {
  for (const [name, v, min] of [['--min-runs', a.minRuns, 2], ['--max-runs', a.maxRuns, 2], ['--batch', a.batch, 1], ['--budget', a.budget, 1]] as const) {
    if (!Number.isFinite(v) || v < min) throw new UserError(`${name} must be >= ${min}`, 2);
  }
  if (a.maxRuns < a.minRuns) throw new UserError('--max-runs must be >= --min-runs', 2);
  if (a.current && a.baselineEngine) throw new UserError('--current and --baseline-engine exclude each other: --baseline-engine measures both builds now', 2);
}

function modelDirFor(baseline: ProfileFile, override: string | undefined, log: (l: string) => void): string {
  if (override) return override;
  if (existsSync(baseline.model.dir)) return baseline.model.dir;
  if (baseline.model.synthetic?.shape === DEFAULT_SHAPE) return ensureDefaultModel(log);
  throw new UserError(`the baseline's model folder ${baseline.model.dir} is not here: pass --model`, 2);
}

const decides = (d: DiffResult, metrics: string[]) => d.headline.filter((m) => metrics.includes(m.id));

interface Measured {
  current: ProfileFile;
  /** The baseline file, or with --baseline-engine the base build measured beside the current one. */
  base: ProfileFile;
  paired: boolean;
}

/**
 * Measures in batches until every deciding metric has a verdict, or the budget is spent. With
 * --baseline-engine, every batch also runs the base build, alternating which goes first, so a
 * change in machine load during the gate hits both sides alike, with fresh engine instances
 * for every pair (see below).
 */
async function measureAdaptively(a: Args, baseline: ProfileFile, threshold: number, log: (l: string) => void): Promise<Measured> {
  const plan = buildLoadPlan(modelDirFor(baseline, a.model, log));
  checkSameModel(baseline.model, modelInfo(plan), modelArgument(plan.source));
  const s = baseline.settings;
  const promptIds = baseline.prompt_ids ?? (await promptOfLength(plan.source, plan.spec.vocabSize, s.prompt_tokens));
  const metadata = runMetadata(process.argv);
  const environment = await collectEnvironment({ measure: false });
  const workload = { prefetch: s.prefetch, resident: s.resident, io: s.io, threads: s.threads };
  const open = (make: () => InferenceEngine, build: NativeBuildInfo): Side => {
    const engine = make();
    return { make, engine, backend: engine.backend, build, runs: [], unitNames: [] };
  };
  const sides = [open(() => InferenceEngine.open(plan, workload), loadAddon().buildInfo())];
  const baseAddon = a.baselineEngine;
  if (baseAddon) {
    // The calibration slowdown (RABBIT_BENCH_SLOWDOWN_PERCENT) slows the build under test only.
    sides.push(open(() => InferenceEngine.open(plan, { ...workload, addon: baseAddon, slowdownPercent: 0 }), loadAddon(baseAddon).buildInfo()));
  }
  const [current, base] = sides;
  const fileOf = (side: Side) => {
    const count = (warmup: boolean) => side.runs.filter((r) => r.warmup === warmup).length;
    const settings = { ...s, runs: count(false), warmup: count(true), prompt_tokens: promptIds.length };
    return buildProfileFile({ plan, settings, promptIds, runs: side.runs, unitNames: side.unitNames, metadata, environment, backend: side.backend, build: side.build });
  };
  const measure = async (side: Side, runs: number, warmup: number) => {
    const m = await measureRuns(side.engine, { promptIds, maxNewTokens: s.max_new_tokens, runs, warmup });
    m.runs.forEach((r) => side.runs.push({ ...r, index: side.runs.length }));
    side.unitNames = m.unitNames;
  };
  const started = performance.now();
  try {
    for (let pair = 0; ; ) {
      for (let i = 0; i < a.batch; i++, pair++) {
        // Each pair gets fresh instances, opened and warmed up (which allocates the resident
        // weights) in alternating order: of two instances of one build, the one that allocated
        // first ran 3-5% slower, every time. Pairs then differ by independent instance effects,
        // which the interval over pairs sees, instead of sharing one bias.
        const order = pair % 2 === 0 ? sides : [...sides].reverse();
        if (base && pair > 0) {
          sides.forEach((side) => side.engine.close());
          for (const side of order) side.engine = side.make();
        }
        if (base || pair === 0) {
          for (const side of order) await measure(side, 0, 1);
        }
        for (const side of order) await measure(side, 1, 0);
      }
      const measured = current.runs.filter((r) => !r.warmup).length;
      if (measured < a.minRuns) continue;
      const partial = { ...baseline, runs: current.runs, unit_names: current.unitNames, prompt_ids: promptIds };
      const verdicts = decides(diffProfiles(base ? fileOf(base) : baseline, partial, { threshold, metrics: a.metric, paired: base !== undefined }), a.metric);
      const elapsed = (performance.now() - started) / 1000;
      log(`gate: ${measured} runs${base ? ' of each build' : ''}, ${elapsed.toFixed(0)} s: ${verdicts.map((v) => `${v.id} ${v.verdict} (${(100 * v.change).toFixed(1)}%)`).join(', ')}`);
      if (verdicts.every((v) => v.verdict !== 'inconclusive') || elapsed > a.budget || measured >= a.maxRuns) break;
    }
  } finally {
    sides.forEach((side) => side.engine.close());
  }
  return { current: fileOf(current), base: base ? fileOf(base) : baseline, paired: base !== undefined };
}

interface Side {
  make: () => InferenceEngine;
  engine: InferenceEngine;
  backend: string;
  build: NativeBuildInfo;
  runs: RunSample[];
  unitNames: string[];
}

async function parityFailures(a: Args, current: ProfileFile): Promise<string[]> {
  if (!a.reference) return [];
  const engine = InferenceEngine.open(buildLoadPlan(current.model.dir), {});
  try {
    const results = await runParity(readReference(a.reference), engine, F32_TOLERANCE);
    return results.filter((r) => !r.pass).map((r) => `parity ${r.name}: ${r.failures.join('; ')}`);
  } finally {
    engine.close();
  }
}

function readCurrent(path: string): ProfileFile {
  try {
    return readProfileFile(path);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`--current: ${err.message}`, 2);
    throw err;
  }
}

/** The gate reruns the baseline's model; under another folder name is fine, another shape is not. */
function checkSameModel(base: ProfileFile['model'], current: ProfileFile['model'], where: string): void {
  const differences = modelShapeDifferences(base, current);
  if (differences.length) throw new UserError(`gate: ${where} is not the baseline's model ${base.name} (${differences.join(', ')})`, 2);
}

const fingerprintOf = (file: ProfileFile) => (file.environment as { machine_fingerprint?: string }).machine_fingerprint;

/** Timings from two machines are not comparable: refused unless --force, and then loudly. */
function checkSameMachine(baseline: ProfileFile, baselinePath: string, here: string | undefined, force: boolean, log: (l: string) => void): void {
  const there = fingerprintOf(baseline);
  if (here !== undefined && here === there) return;
  const msg = `the baseline ${baselinePath} was measured on another machine (${there ?? 'unknown'}; the current run on ${here ?? 'unknown'})`;
  if (!force) throw new UserError(`${msg}: timings are not comparable; re-baseline there, or pass --force`, 2);
  log(`rabbit-bench: WARNING: ${msg}; comparing anyway because of --force`);
}

async function handler(a: Args): Promise<number> {
  checkCounts(a);
  if (!a.current && a.save) prepareOutDir(a.out);
  const threshold = parseThreshold(a.threshold);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const { file: baseline, path: baselinePath } = loadBaseline(a.baseline, log);
  const unknown = a.metric.filter((m) => !diffProfiles(baseline, baseline, { threshold }).headline.some((h) => h.id === m));
  if (unknown.length) throw new UserError(`unknown --metric ${unknown.join(', ')}`, 2);
  const given = a.current ? readCurrent(a.current) : undefined;
  if (given) checkSameModel(baseline.model, given.model, a.current!);
  checkSameMachine(baseline, baselinePath, given ? fingerprintOf(given) : (await collectEnvironment({ measure: false })).machine_fingerprint, a.force, log);
  let measured: Measured;
  try {
    measured = given ? { current: given, base: baseline, paired: false } : await measureAdaptively(a, baseline, threshold, log);
  } catch (err) {
    // The baseline's run gave finite outputs with this model: NaN now is the change under test failing.
    if (!(err instanceof NonFiniteError)) throw err;
    const failure = `outputs: ${err.message}`;
    return printGate({ status: 'FAIL', failures: [failure], inconclusive: [], diff: null }, outputFormat(a));
  }
  const { current, base, paired } = measured;
  if (!given && a.save) log(`wrote ${saveReport(profileReport(current, 8), a.out, current.model.name).json}`);

  const diff = diffProfiles(base, current, { threshold, paired, sameModel: true });
  // The gate promises to catch changed outputs: a comparison that cannot look at them is refused.
  if (!diff.outputs.comparable) throw new UserError(`gate: the current run's outputs cannot be compared with the baseline's (${diff.outputs.note}): the gate needs the baseline's prompt and token count`, 2);
  const deciding = decides(diff, a.metric);
  const failures = [
    ...deciding.filter((m) => m.verdict === 'slower').map((m) => `${m.label} ${(100 * m.change).toFixed(1)}% slower (99% CI ${(100 * (m.ci.lo - 1)).toFixed(1)}% .. ${(100 * (m.ci.hi - 1)).toFixed(1)}%)`),
    ...(!diff.outputs.identical ? ['generated tokens changed against the baseline'] : []),
    ...(await parityFailures(a, current)),
  ];
  const inconclusive = deciding.filter((m) => m.verdict === 'inconclusive').map((m) => m.label);
  if (a.strict && inconclusive.length) failures.push(`inconclusive: ${inconclusive.join(', ')}`);
  const status = failures.length ? 'FAIL' : inconclusive.length ? 'PASS (inconclusive)' : 'PASS';
  return printGate({ status, failures, inconclusive, diff }, outputFormat(a));
}

function printGate(g: GateResult, format: Format): number {
  const report = gateReport(g);
  process.stdout.write(render(report, format));
  appendStepSummary(render(report, 'md'));
  return g.failures.length ? 1 : 0;
}

export const gateCommand: CommandModule<object, Args> = {
  command: 'gate',
  describe: 'fail when inference got slower or its outputs changed against a baseline',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
