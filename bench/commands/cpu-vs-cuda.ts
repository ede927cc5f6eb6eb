// `rabbit-bench cpu-vs-cuda`: the same model and prompt on the CPU and on CUDA — load time, TTFT,
// decode speed, every phase, the speedup, and the model size from which CUDA wins. Without a
// usable CUDA device it measures the CPU side and says exactly what is missing (exit 0, or 2
// with --require-cuda).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { cpuVsCudaReport, type CpuVsCudaFile } from '../cuda/compare.js';
import { measureCpuVsCuda } from '../cuda/measure.js';
import { DEFAULT_SHAPE_LAYERS, parseShapeList } from '../synth/models.js';
import { cudaStatus, cudaUnavailableMessage } from '../cuda/status.js';
import { loadAddon } from '../engine/native.js';
import { UserError } from '../errors.js';
import { DTYPE_FLAGS, type DtypeFlag } from '../model/dtype.js';
import { render, saveReport } from '../report/print.js';
import { prepareOutDir } from '../results/files.js';
import { outputFormat, threadsOption, withMeasureOptions } from './options.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return withMeasureOptions(y)
    .option('model', { type: 'string', array: true, describe: 'local HF model folder or Hub repo id (repeatable); default: the synthesised SmolLM2-135M-shaped model' })
    .option('shapes', { type: 'string', describe: 'comma-separated real-model shapes to synthesise and compare, e.g. smollm2-135m,qwen2.5-0.5b,llama-3.2-1b' })
    .option('layers', { type: 'number', default: DEFAULT_SHAPE_LAYERS, describe: 'decoder layers kept in each --shapes model (embedding and lm_head keep their real sizes)' })
    .option('dtype', { choices: Object.keys(DTYPE_FLAGS) as DtypeFlag[], default: 'bf16' as DtypeFlag, describe: 'weight dtype of --shapes models' })
    .option('runs', { type: 'number', default: 3, describe: 'measured runs per device' })
    .option('warmup', { type: 'number', default: 1, describe: 'unmeasured runs first, per device' })
    .option('threads', threadsOption('CPU compute threads (0 = one per hardware thread)'))
    .option('require-cuda', { type: 'boolean', default: false, describe: 'exit 2 when CUDA cannot run instead of measuring the CPU side only' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

/** Usage errors (exit 2) before anything is loaded; returns the --shapes list, if any. */
function checkArgs(a: Args): string[] | undefined {
  for (const [name, v, min] of [['--runs', a.runs, 1], ['--warmup', a.warmup, 0], ['--max-new-tokens', a.maxNewTokens, 1], ['--prompt-tokens', a.promptTokens, 1],
    ['--layers', a.layers, 1], ['--threads', a.threads, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new UserError(`${name} must be a whole number >= ${min}`, 2);
  }
  if (a.model?.length && a.shapes !== undefined) throw new UserError('--model and --shapes: pick one', 2);
  return a.shapes !== undefined ? parseShapeList(a.shapes) : undefined;
}

/** What the result files are called after: the one model, `shapes`, or how many models. */
function resultName(f: CpuVsCudaFile): string {
  if (f.settings.synthetic_layers !== null) return 'shapes';
  return f.models.length === 1 ? f.models[0].model.name : `${f.models.length}-models`;
}

async function handler(a: Args): Promise<number> {
  const shapes = checkArgs(a);
  if (a.save) prepareOutDir(a.out);
  const format = outputFormat(a);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const addon = loadAddon();
  const cuda = cudaStatus(addon);
  if (!cuda.available && a.requireCuda) throw new UserError(cudaUnavailableMessage(cuda, '--require-cuda'), 2);
  const file = await measureCpuVsCuda({
    models: a.model ?? [],
    shapes: shapes ?? null,
    layers: a.layers,
    dtype: DTYPE_FLAGS[a.dtype],
    prompt: a.prompt,
    promptTokens: a.promptTokens,
    maxNewTokens: a.maxNewTokens,
    runs: a.runs,
    warmup: a.warmup,
    threads: a.threads,
    prefetch: a.prefetch,
    pinMemory: a.pinMemory,
    asyncTransfer: a.asyncTransfer,
    measureEnv: a.measureEnv,
  }, { addon, cuda, progress: format === 'table' || format === 'md', log });

  const report = cpuVsCudaReport(file);
  const written = a.save ? saveReport(report, a.out, resultName(file)) : undefined;
  process.stdout.write(render(report, format));
  if (written && format !== 'json') log(`wrote ${written.json}, ${written.csv}, ${written.md}`);
  return file.models.some((m) => m.cuda_error) ? 1 : 0;
}

export const cpuVsCudaCommand: CommandModule<object, Args> = {
  command: 'cpu-vs-cuda',
  describe: 'the same model and prompt on CPU and CUDA: load, TTFT, decode speed, phases, speedup, and where CUDA starts to win',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
