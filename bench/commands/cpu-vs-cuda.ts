// `rabbit-bench cpu-vs-cuda`: the same model and prompt on the CPU and on CUDA — load time, TTFT,
// decode speed, every phase, the speedup, and the model size from which CUDA wins. Without a
// usable CUDA device it measures the CPU side and says exactly what is missing (exit 0, or 2
// with --require-cuda).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { comparisonCsv, comparisonFooter, comparisonTables, crossovers, cudaNote, parseCpuVsCudaFile, settingsLine, speedups,
  CPU_VS_CUDA_SCHEMA, type CpuVsCudaFile, type DeviceSide, type ModelComparison } from '../cuda/compare.js';
import { cudaDeviceLine, cudaMissing, cudaStatus, cudaUnavailableMessage } from '../cuda/status.js';
import { vramSummary, type VramSummary } from '../cuda/vram.js';
import { InferenceEngine } from '../engine/engine.js';
import { loadAddon, type DeviceName } from '../engine/native.js';
import { collectEnvironment, runMetadata } from '../env/environment.js';
import { UserError } from '../errors.js';
import type { ModelDtype, LoadPlan } from '../model/types.js';
import { buildLoadPlan } from '../model/plan.js';
import { DEFAULT_SHAPE_LAYERS, ensureDefaultModel, ensureShapeModel, parseShapeList } from '../synth/models.js';
import { measureRuns, type MeasuredRuns } from '../profile/measure.js';
import { tokenProgress, type Progress } from '../profile/progress.js';
import { promptOfLength } from '../profile/prompt.js';
import { markdownTables } from '../report/printers/markdown.js';
import { terminalTables } from '../report/printers/table.js';
import { buildProfileFile } from '../profile/result.js';
import { prepareOutDir, resultStem, writeResultFiles } from '../results/files.js';
import type { ProfileSettings } from '../results/profile-schema.js';
import { ModelTokenizer } from '../tokenizer.js';
import { threadsOption, withMeasureOptions } from './options.js';
import { runCommand } from './run.js';
import { writableDir } from '../paths.js';

const DTYPES: Readonly<Record<string, ModelDtype>> = { f32: 'float32', bf16: 'bfloat16', f16: 'float16' };

function builder(y: Argv) {
  return withMeasureOptions(y)
    .option('model', { type: 'string', array: true, describe: 'local HF model folder or Hub repo id (repeatable); default: the synthesised SmolLM2-135M-shaped model' })
    .option('shapes', { type: 'string', describe: 'comma-separated real-model shapes to synthesise and compare, e.g. smollm2-135m,qwen2.5-0.5b,llama-3.2-1b' })
    .option('layers', { type: 'number', default: DEFAULT_SHAPE_LAYERS, describe: 'decoder layers kept in each --shapes model (embedding and lm_head keep their real sizes)' })
    .option('dtype', { choices: Object.keys(DTYPES), default: 'bf16', describe: 'weight dtype of --shapes models' })
    .option('runs', { type: 'number', default: 3, describe: 'measured runs per device' })
    .option('warmup', { type: 'number', default: 1, describe: 'unmeasured runs first, per device' })
    .option('threads', threadsOption('CPU compute threads (0 = one per hardware thread)'))
    .option('require-cuda', { type: 'boolean', default: false, describe: 'exit 2 when CUDA cannot run instead of measuring the CPU side only' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

interface ModelToRun {
  dir: string;
  fullParams: number | null;
  fullLayers: number | null;
}

interface MeasuredSide {
  loadMs: number;
  measured: MeasuredRuns;
  backend: string;
  vram: VramSummary | null;
}

/** Usage errors (exit 2) before anything is loaded; returns the --shapes list, if any. */
function checkArgs(a: Args): string[] | undefined {
  for (const [name, v, min] of [['--runs', a.runs, 1], ['--warmup', a.warmup, 0], ['--max-new-tokens', a.maxNewTokens, 1], ['--prompt-tokens', a.promptTokens, 1],
    ['--layers', a.layers, 1], ['--threads', a.threads, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new UserError(`${name} must be a whole number >= ${min}`, 2);
  }
  if (a.model?.length && a.shapes !== undefined) throw new UserError('--model and --shapes: pick one', 2);
  return a.shapes !== undefined ? parseShapeList(a.shapes) : undefined;
}

function modelsToRun(a: Args, shapes: string[] | undefined, log: (line: string) => void): ModelToRun[] {
  if (shapes) {
    return shapes.map((shape) => {
      const m = ensureShapeModel({ shape, layers: a.layers, dtype: DTYPES[a.dtype] }, log);
      return { dir: m.path, fullParams: m.layers < m.fullLayers ? m.fullParams : null, fullLayers: m.layers < m.fullLayers ? m.fullLayers : null };
    });
  }
  const dirs = a.model?.length ? a.model : [ensureDefaultModel(log)];
  return dirs.map((dir) => ({ dir, fullParams: null, fullLayers: null }));
}

async function measureSide(plan: LoadPlan, device: DeviceName, a: Args, promptIds: number[], progress: Progress): Promise<MeasuredSide> {
  const t0 = performance.now();
  const engine = InferenceEngine.open(plan, { device, pinMemory: a.pinMemory, asyncTransfer: a.asyncTransfer, prefetch: a.prefetch, threads: a.threads });
  const loadMs = performance.now() - t0;
  try {
    const measured = await measureRuns(engine, { promptIds, maxNewTokens: a.maxNewTokens, runs: a.runs, warmup: a.warmup, onToken: () => progress.tick() });
    return { loadMs, measured, backend: engine.backend, vram: engine.deviceStats ? vramSummary(engine.deviceStats) : null };
  } finally {
    engine.close();
  }
}

async function handler(a: Args): Promise<number> {
  const shapes = checkArgs(a);
  if (a.save) prepareOutDir(a.out);
  const format = a.json ? 'json' : a.format;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const addon = loadAddon();
  const cuda = cudaStatus(addon);
  if (!cuda.available && a.requireCuda) throw new UserError(cudaUnavailableMessage(cuda, '--require-cuda'), 2);
  const note = cudaNote(cuda, cudaMissing(cuda));
  if (note) log(`rabbit-bench: ${note}`);
  else log(`rabbit-bench: CUDA device: ${cudaDeviceLine(cuda)}`);

  const models = modelsToRun(a, shapes, log);
  const metadata = runMetadata(process.argv);
  const devices: DeviceName[] = cuda.available ? ['cpu', 'cuda'] : ['cpu'];
  const progress = tokenProgress(models.length * devices.length * (a.warmup + a.runs) * a.maxNewTokens, format === 'table' || format === 'md');
  const measuredModels: { plan: LoadPlan; model: ModelToRun; promptIds: number[]; cpu: MeasuredSide; cuda: MeasuredSide | null; cudaError: string | null }[] = [];
  try {
    for (const model of models) {
      const plan = buildLoadPlan(model.dir);
      const promptIds = a.prompt !== undefined
        ? await (await ModelTokenizer.load(plan.source)).encode(a.prompt)
        : await promptOfLength(plan.source, plan.spec.vocabSize, a.promptTokens);
      const cpuSide = await measureSide(plan, 'cpu', a, promptIds, progress);
      let cudaSide: MeasuredSide | null = null;
      let cudaError: string | null = null;
      if (cuda.available) {
        try {
          cudaSide = await measureSide(plan, 'cuda', a, promptIds, progress);
        } catch (err) {
          // One model that cannot run (e.g. it does not fit in VRAM) must not lose the others.
          cudaError = (err as Error).message;
        }
      }
      measuredModels.push({ plan, model, promptIds, cpu: cpuSide, cuda: cudaSide, cudaError });
    }
  } finally {
    progress.stop();
  }

  // After the runs, so the bandwidth probes' memory does not show as the engine's peak RSS.
  const environment = await collectEnvironment({ measure: a.measureEnv, diskDir: writableDir(measuredModels[0].plan.modelDir) });
  const build = addon.buildInfo();
  const side = (m: (typeof measuredModels)[number], s: MeasuredSide, device: DeviceName): DeviceSide => {
    const settings: ProfileSettings = { device, prefetch: a.prefetch, resident: false, cold: false, io: 'pread', experts: null, threads: a.threads,
      prompt_tokens: m.promptIds.length, max_new_tokens: a.maxNewTokens, runs: a.runs, warmup: a.warmup };
    const profile = buildProfileFile({ plan: m.plan, settings, promptIds: m.promptIds, runs: s.measured.runs, unitNames: s.measured.unitNames,
      metadata, environment, backend: s.backend, build });
    if (s.vram) profile.summary.vram = s.vram;
    return { load_ms: s.loadMs, vram: s.vram, profile };
  };
  const comparisons: ModelComparison[] = measuredModels.map((m) => {
    const cpuSide = side(m, m.cpu, 'cpu');
    const cudaSide = m.cuda ? side(m, m.cuda, 'cuda') : null;
    return {
      model: cpuSide.profile.model,
      full_params: m.model.fullParams,
      full_layers: m.model.fullLayers,
      cpu: cpuSide,
      cuda: cudaSide,
      cuda_error: m.cudaError,
      speedup: cudaSide ? speedups(cpuSide, cudaSide) : null,
    };
  });
  const file: CpuVsCudaFile = parseCpuVsCudaFile({
    schema: CPU_VS_CUDA_SCHEMA,
    command: 'cpu-vs-cuda',
    created_at: new Date().toISOString(),
    metadata,
    environment,
    cuda,
    settings: {
      prompt_tokens: measuredModels[0].promptIds.length,
      max_new_tokens: a.maxNewTokens,
      runs: a.runs,
      warmup: a.warmup,
      threads: a.threads,
      prefetch: a.prefetch,
      pin_memory: a.pinMemory,
      async_transfer: a.asyncTransfer,
      synthetic_layers: a.shapes !== undefined ? a.layers : null,
    },
    models: comparisons,
    crossover: crossovers(comparisons),
  } satisfies CpuVsCudaFile, 'the comparison just measured');

  const tables = comparisonTables(file);
  const footer = comparisonFooter(file, note);
  const device = cuda.available ? [`CUDA device: ${cudaDeviceLine(cuda)}`] : [];
  const markdown = `## rabbit-bench cpu-vs-cuda\n\n${settingsLine(file)}\n\n${markdownTables(tables)}\n\n${[...device, ...footer].join('  \n')}\n`;
  const label = a.shapes !== undefined ? 'shapes' : comparisons.length === 1 ? comparisons[0].model.name : `${comparisons.length}-models`;
  const written = a.save ? writeResultFiles(a.out, resultStem('cpu-vs-cuda', label), { json: file, csv: comparisonCsv(file), md: markdown }) : undefined;

  if (format === 'json') process.stdout.write(`${JSON.stringify(file)}\n`);
  else if (format === 'csv') process.stdout.write(comparisonCsv(file));
  else if (format === 'md') process.stdout.write(markdown);
  else process.stdout.write(`${settingsLine(file)}\n${device.map((l) => `${l}\n`).join('')}\n${terminalTables(tables)}\n\n${footer.join('\n')}\n`);
  if (written && format !== 'json') log(`wrote ${written.json}, ${written.csv}, ${written.md}`);
  return comparisons.some((c) => c.cuda_error) ? 1 : 0;
}

export const cpuVsCudaCommand: CommandModule<object, Args> = {
  command: 'cpu-vs-cuda',
  describe: 'the same model and prompt on CPU and CUDA: load, TTFT, decode speed, phases, speedup, and where CUDA starts to win',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
