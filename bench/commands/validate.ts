// `rabbit-bench validate`: the upstream-update matrix. Every model (the test fixtures, all four
// architectures, plus any given) × prompt length (short, long) × device: load, generate, compare
// with the HF reference, and time against a baseline. Each cell runs in a child process, so a
// native crash or a hang is that cell's result, never the end of the run.
import { resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { parseShard, shardLabel } from '../shard.js';
import { F32_TOLERANCE } from '../reference/compare.js';
import { render, saveReport } from '../report/print.js';
import { prepareOutDir } from '../results/files.js';
import { CELL_FAULTS, parseInjectFaults } from '../validate/faults.js';
import { runValidate } from '../validate/matrix.js';
import { FIXTURE_NAMES, parseFixtureSelection } from '../validate/models.js';
import { validateReport } from '../validate/render.js';
import { VALIDATE_NEW_TOKENS } from '../validate/references.js';
import { DEVICES, PROMPT_KINDS, type Device, type PromptKind, type ValidateFile } from '../validate/schema.js';
import { newTokensOption, outputFormat, threadsOption, withFormatOptions, withSaveOptions } from './options.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return withSaveOptions(withFormatOptions(y))
    .option('models', { type: 'string', array: true, default: [] as string[], describe: 'more model folders or Hub repo ids, besides the fixtures' })
    .option('fixtures', { type: 'string', default: 'all', describe: `test fixtures to include: all, none, or a comma list (${FIXTURE_NAMES.join(', ')})` })
    .option('devices', { type: 'string', default: 'cpu', describe: 'comma list of cpu, cuda' })
    .option('prompts', { type: 'string', default: 'short,long', describe: 'comma list of short (8 tokens), long (512 tokens)' })
    .option('live', { type: 'boolean', default: true, describe: 'live HF references when a Python with transformers is available (--no-live: always the goldens)' })
    .option('python', { type: 'string', describe: 'Python with transformers for live references (default: .venv-hf if present)' })
    .option('llama-cpp', { type: 'boolean', default: false, describe: 'also compare GGUF models with llama.cpp (node-llama-cpp; npm run setup:llama-cpp): greedy tokens and the top 5 after the prompt' })
    .option('max-new-tokens', newTokensOption(VALIDATE_NEW_TOKENS, 1, 'greedy tokens per cell for live references (goldens carry their own)'))
    .option('cell-timeout', { type: 'number', default: 120, describe: 'seconds a cell may take before it counts as a timeout' })
    .option('threads', threadsOption('compute threads per cell (0 = one per hardware thread)'))
    .option('min-cosine', { type: 'number', default: F32_TOLERANCE.minCosine })
    .option('max-rel-diff', { type: 'number', default: F32_TOLERANCE.maxRelAbsDiff, describe: 'max |Δ logit| as a fraction of max |reference logit|' })
    .option('baseline', { type: 'string', describe: 'a previous validate JSON: per-cell change of TTFT and decode tok/s' })
    .option('perf-threshold', { type: 'number', default: 25, describe: 'warn when decode tok/s is more than this % below the baseline' })
    .option('fail-on-perf', { type: 'boolean', default: false, describe: 'a slower cell (see --perf-threshold) fails the run' })
    .option('allow-skips', { type: 'boolean', default: false, describe: 'cells skipped for want of a reference do not fail the run' })
    .option('inject-fault', {
      type: 'string', array: true, default: [] as string[],
      describe: `test-only: CELL=FAULT breaks one cell's engine (CELL like llama-tied-gqa-f32/long/cpu; FAULT: ${CELL_FAULTS.join(', ')})`,
    })
    .option('shard', { type: 'string', describe: 'run only part K of N of the cells (K/N, e.g. 2/4); `rabbit-bench merge` combines the parts' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

function commaList<T extends string>(v: string, allowed: readonly T[], option: string): T[] {
  const items = [...new Set(v.split(',').map((s) => s.trim()).filter(Boolean))];
  const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
  if (bad.length || items.length === 0) throw new UserError(`--${option}: expected a comma list of ${allowed.join(', ')}, got ${JSON.stringify(v)}`, 2);
  return items as T[];
}

/** What the result file is called after: `fixtures`, and the names of any other models. */
function modelsLabel(file: ValidateFile): string {
  const fixtures = file.models.filter((m) => m.fixture);
  const others = file.models.filter((m) => !m.fixture).map((m) => m.name);
  const label = [fixtures.length === FIXTURE_NAMES.length ? 'fixtures' : fixtures.map((m) => m.name), others].flat().join('+');
  return label.length > 80 ? `${label.slice(0, 80)}-etc` : label;
}

async function handler(a: Args): Promise<number> {
  if (a.python && !a.live) throw new UserError('--python and --no-live contradict each other', 2);
  if (a.save) prepareOutDir(resolve(a.out));
  const file = await runValidate({
    fixtures: parseFixtureSelection(a.fixtures),
    models: a.models.map(String),
    devices: commaList<Device>(a.devices, DEVICES, 'devices'),
    prompts: commaList<PromptKind>(a.prompts, PROMPT_KINDS, 'prompts'),
    live: a.live,
    python: a.python,
    llamaCpp: a.llamaCpp,
    maxNewTokens: a.maxNewTokens,
    cellTimeoutS: a.cellTimeout,
    threads: a.threads,
    minCosine: a.minCosine,
    maxRelDiff: a.maxRelDiff,
    injectFaults: parseInjectFaults(a.injectFault.map(String)),
    baseline: a.baseline,
    perfThresholdPct: a.perfThreshold,
    failOnPerf: a.failOnPerf,
    allowSkips: a.allowSkips,
    shard: parseShard(a.shard),
    argv: process.argv,
    log: (line) => process.stderr.write(`${line}\n`),
  });

  const report = validateReport(file);
  const written = a.save ? saveReport(report, a.out, `${modelsLabel(file)}${file.settings.shard ? `-${shardLabel(file.settings.shard)}` : ''}`) : undefined;
  process.stdout.write(render(report, outputFormat(a)));
  if (written) process.stderr.write(`wrote ${written.json}, ${written.csv}, ${written.md}\n`);
  return file.pass ? 0 : 1;
}

export const validateCommand: CommandModule<object, Args> = {
  command: 'validate',
  describe: 'the upstream-update matrix: every model × short/long prompt × device against HF, each cell in its own process',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
