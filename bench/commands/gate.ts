// `rabbit-bench gate`: the CI regression gate. Exit 1 on a significant regression beyond the
// threshold, on changed outputs, or on a parity failure; 0 otherwise; 2 on usage/environment.
// The decisions live in compare/gate.ts, the engine side in compare/gate-measure.ts.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadBaseline } from '../compare/baseline.js';
import { diffProfiles } from '../compare/diff.js';
import {
  checkCounts,
  checkMetrics,
  checkSameMachine,
  checkSameModel,
  fingerprintOf,
  gateExitCode,
  gateVerdict,
  measureAdaptively,
  readCurrent,
  type Measured,
} from '../compare/gate.js';
import { engineMeasurer, parityFailures } from '../compare/gate-measure.js';
import { gateReport } from '../compare/render.js';
import { GATE_SCHEMA, type GateResult, type GateVerdict } from '../compare/schema.js';
import { parseThreshold } from '../compare/threshold.js';
import { collectEnvironment, runMetadata } from '../env/environment.js';
import type { EnvironmentReport, RunMetadata } from '../env/types.js';
import { NonFiniteError } from '../errors.js';
import { profileReport } from '../profile/render.js';
import { render, saveReport, type Format } from '../report/print.js';
import { appendStepSummary } from '../report/step-summary.js';
import { prepareOutDir } from '../results/files.js';
import type { ProfileFile } from '../results/profile-schema.js';
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

async function measureNow(a: Args, baseline: ProfileFile, threshold: number, here: { metadata: RunMetadata; environment: EnvironmentReport },
  log: (l: string) => void): Promise<Measured> {
  const measurer = await engineMeasurer(baseline, { model: a.model, baselineEngine: a.baselineEngine, ...here, log });
  try {
    const limits = { batch: a.batch, minRuns: a.minRuns, maxRuns: a.maxRuns, budget: a.budget };
    return await measureAdaptively({ ...limits, baseline, threshold, metrics: a.metric, paired: a.baselineEngine !== undefined, log }, measurer.measureBatch);
  } finally {
    measurer.close();
  }
}

async function handler(a: Args): Promise<number> {
  checkCounts(a, a);
  if (!a.current && a.save) prepareOutDir(a.out);
  const threshold = parseThreshold(a.threshold);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const { file: baseline, path: baselinePath } = loadBaseline(a.baseline, log);
  checkMetrics(baseline, a.metric, threshold);
  const given = a.current ? readCurrent(a.current) : undefined;
  if (given) checkSameModel(baseline.model, given.model, a.current!);
  const metadata = runMetadata(process.argv);
  // Collected once: it names this machine for the check below and in every file the gate measures.
  const environment = given ? undefined : await collectEnvironment({ measure: false });
  const machine = given ? fingerprintOf(given) : environment!.machine_fingerprint;
  checkSameMachine(baseline, baselinePath, machine, a.force, log);
  const print = (verdict: GateVerdict) => printGate({ schema: GATE_SCHEMA, run: metadata, machine_fingerprint: machine ?? null, ...verdict }, outputFormat(a));
  let measured: Measured;
  try {
    measured = given ? { current: given, base: baseline, paired: false, decisions: [] } : await measureNow(a, baseline, threshold, { metadata, environment: environment! }, log);
  } catch (err) {
    // The baseline's run gave finite outputs with this model: NaN now is the change under test failing.
    if (!(err instanceof NonFiniteError)) throw err;
    const failure = `outputs: ${err.message}`;
    return print({ status: 'FAIL', failures: [failure], inconclusive: [], metrics: a.metric, diff: null, decisions: [] });
  }
  const { current, base, paired, decisions } = measured;
  if (!given && a.save) log(`wrote ${saveReport(profileReport(current), a.out, current.model.name).json}`);
  const diff = diffProfiles(base, current, { threshold, paired, sameModel: true });
  const verdict = gateVerdict(diff, { metrics: a.metric, strict: a.strict, extraFailures: await parityFailures(a.reference, current), decisions });
  return print(verdict);
}

function printGate(g: GateResult, format: Format): number {
  const report = gateReport(g);
  process.stdout.write(render(report, format));
  appendStepSummary(render(report, 'md'));
  return gateExitCode(g);
}

export const gateCommand: CommandModule<object, Args> = {
  command: 'gate',
  describe: 'fail when inference got slower or its outputs changed against a baseline',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
