// cpu-vs-cuda's measuring: every model opened and run on the CPU, then on CUDA where it can run,
// with the same prompt on both, each side kept as a profile document, and the comparison
// (speedups, crossover) built from them.
import { InferenceEngine } from '../engine/engine.js';
import type { DeviceName, NativeAddon, NativeCudaStatus } from '../engine/native.js';
import { collectEnvironment, runMetadata } from '../env/environment.js';
import type { LoadPlan, ModelDtype } from '../model/types.js';
import { buildLoadPlan } from '../model/plan.js';
import { writableDir } from '../paths.js';
import { measureRuns, type MeasuredRuns } from '../profile/measure.js';
import { tokenProgress, type Progress } from '../profile/progress.js';
import { workloadPrompt } from '../profile/prompt.js';
import { buildProfileFile } from '../profile/result.js';
import type { ProfileSettings } from '../results/profile-schema.js';
import { crossovers, cudaNote, parseCpuVsCudaFile, speedups, CPU_VS_CUDA_SCHEMA, type CpuVsCudaFile, type DeviceSide, type ModelComparison } from './compare.js';
import { ensureDefaultModel, ensureShapeModel } from '../synth/models.js';
import { cudaDeviceLine, cudaMissing } from './status.js';
import { vramSummary, type VramSummary } from './vram.js';

export interface CpuVsCudaOptions {
  /** Model folders or Hub repo ids; with neither these nor shapes, the default model. */
  models: string[];
  /** Real-model shapes to synthesise, cut to `layers` decoder layers, with `dtype` weights. */
  shapes: string[] | null;
  layers: number;
  dtype: ModelDtype;
  /** Prompt text (needs the model's tokenizer); else `promptTokens` synthetic tokens. */
  prompt: string | undefined;
  promptTokens: number;
  maxNewTokens: number;
  runs: number;
  warmup: number;
  threads: number;
  prefetch: boolean;
  pinMemory: boolean;
  asyncTransfer: boolean;
  /** Measure memory and disk bandwidth for the environment report. */
  measureEnv: boolean;
}

export interface MeasureContext {
  addon: NativeAddon;
  cuda: NativeCudaStatus;
  /** Draw a progress bar on stderr. */
  progress: boolean;
  log(line: string): void;
}

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

interface MeasuredModel {
  plan: LoadPlan;
  model: ModelToRun;
  promptIds: number[];
  cpu: MeasuredSide;
  cuda: MeasuredSide | null;
  cudaError: string | null;
}

function modelsToRun(o: CpuVsCudaOptions, log: (line: string) => void): ModelToRun[] {
  if (o.shapes) {
    return o.shapes.map((shape) => {
      const m = ensureShapeModel({ shape, layers: o.layers, dtype: o.dtype }, log);
      return { dir: m.path, fullParams: m.layers < m.fullLayers ? m.fullParams : null, fullLayers: m.layers < m.fullLayers ? m.fullLayers : null };
    });
  }
  const dirs = o.models.length > 0 ? o.models : [ensureDefaultModel(log)];
  return dirs.map((dir) => ({ dir, fullParams: null, fullLayers: null }));
}

async function measureSide(plan: LoadPlan, device: DeviceName, o: CpuVsCudaOptions, promptIds: number[], progress: Progress): Promise<MeasuredSide> {
  const t0 = performance.now();
  const engine = InferenceEngine.open(plan, { device, pinMemory: o.pinMemory, asyncTransfer: o.asyncTransfer, prefetch: o.prefetch, threads: o.threads });
  const loadMs = performance.now() - t0;
  try {
    const measured = await measureRuns(engine, { promptIds, maxNewTokens: o.maxNewTokens, runs: o.runs, warmup: o.warmup, onToken: () => progress.tick() });
    return { loadMs, measured, backend: engine.backend, vram: engine.deviceStats ? vramSummary(engine.deviceStats) : null };
  } finally {
    engine.close();
  }
}

/** Measures every model on the CPU, and on CUDA when `ctx.cuda` says it can run. */
export async function measureCpuVsCuda(o: CpuVsCudaOptions, ctx: MeasureContext): Promise<CpuVsCudaFile> {
  const { addon, cuda, log } = ctx;
  const note = cudaNote(cuda, cudaMissing(cuda));
  log(`rabbit-bench: ${note ?? `CUDA device: ${cudaDeviceLine(cuda)}`}`);

  const models = modelsToRun(o, log);
  const metadata = runMetadata(process.argv);
  const devices: DeviceName[] = cuda.available ? ['cpu', 'cuda'] : ['cpu'];
  const progress = tokenProgress(models.length * devices.length * (o.warmup + o.runs) * o.maxNewTokens, ctx.progress);
  const measured: MeasuredModel[] = [];
  try {
    for (const model of models) {
      const plan = buildLoadPlan(model.dir);
      const promptIds = await workloadPrompt(plan.source, plan.spec.vocabSize, o);
      const cpuSide = await measureSide(plan, 'cpu', o, promptIds, progress);
      let cudaSide: MeasuredSide | null = null;
      let cudaError: string | null = null;
      if (cuda.available) {
        try {
          cudaSide = await measureSide(plan, 'cuda', o, promptIds, progress);
        } catch (err) {
          // One model that cannot run (e.g. it does not fit in VRAM) must not lose the others.
          cudaError = (err as Error).message;
        }
      }
      measured.push({ plan, model, promptIds, cpu: cpuSide, cuda: cudaSide, cudaError });
    }
  } finally {
    progress.stop();
  }

  // After the runs, so the bandwidth probes' memory does not show as the engine's peak RSS.
  const environment = await collectEnvironment({ measure: o.measureEnv, diskDir: writableDir(measured[0].plan.modelDir) });
  const build = addon.buildInfo();
  const side = (m: MeasuredModel, s: MeasuredSide, device: DeviceName): DeviceSide => {
    const settings: ProfileSettings = { device, prefetch: o.prefetch, resident: false, cold: false, io: 'pread', experts: null, threads: o.threads,
      prompt_tokens: m.promptIds.length, max_new_tokens: o.maxNewTokens, runs: o.runs, warmup: o.warmup };
    const profile = buildProfileFile({ plan: m.plan, settings, promptIds: m.promptIds, runs: s.measured.runs, unitNames: s.measured.unitNames,
      metadata, environment, backend: s.backend, build });
    if (s.vram) profile.summary.vram = s.vram;
    return { load_ms: s.loadMs, vram: s.vram, profile };
  };
  const comparisons: ModelComparison[] = measured.map((m) => {
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
  return parseCpuVsCudaFile({
    schema: CPU_VS_CUDA_SCHEMA,
    command: 'cpu-vs-cuda',
    created_at: new Date().toISOString(),
    metadata,
    environment,
    cuda,
    settings: {
      prompt_tokens: measured[0].promptIds.length,
      max_new_tokens: o.maxNewTokens,
      runs: o.runs,
      warmup: o.warmup,
      threads: o.threads,
      prefetch: o.prefetch,
      pin_memory: o.pinMemory,
      async_transfer: o.asyncTransfer,
      synthetic_layers: o.shapes ? o.layers : null,
    },
    models: comparisons,
    crossover: crossovers(comparisons),
  } satisfies CpuVsCudaFile, 'the comparison just measured');
}
