// The typed face of the native engine for the commands: defaults, validation of options,
// and the promise-based generate with a per-token callback.
import { NonFiniteError, UserError } from '../errors.js';
import type { LoadPlan } from '../model/types.js';
import { requireCuda } from '../cuda/status.js';
import { IO_MODES, loadAddon, type DeviceName, type FaultName, type IoMode, type NativeDeviceResult, type NativeDeviceStats, type NativeEngine, type NativeSampling } from './native.js';

export interface EngineOptions {
  /** Path of another build of the engine (a rabbit_native.node) to run instead of this checkout's. */
  addon?: string;
  /** 'cpu' (default) or 'cuda'; 'cuda' fails with exit code 2 and the exact reason where it cannot run. */
  device?: DeviceName;
  /** CUDA only (ignored on CPU): read units into pinned host memory (default true). */
  pinMemory?: boolean;
  /** CUDA only (ignored on CPU): copy unit i+1 to the GPU while unit i computes (default true). */
  asyncTransfer?: boolean;
  /**
   * Test-only: run the CPU backend through every engine code path a device backend (CUDA) takes —
   * pipelined steps, raw embedding rows, argmax in the backend, backend-allocated host buffers,
   * device memory stats — so they are tested without a GPU. Tokens equal the plain CPU path's.
   */
  emulateDevice?: boolean;
  /** Read layer i+1 on a background thread while layer i computes (default true). */
  prefetch?: boolean;
  /** Keep every layer after its first load: the in-memory baseline (default false). */
  resident?: boolean;
  /**
   * Drop every unit (and embedding row) from the page cache right after reading it, so every step
   * reads the disk, as a model larger than RAM does: profile --cold=step (default false).
   */
  dropAfterRead?: boolean;
  /** How streamed units are read (default DEFAULT_IO); mmap and direct run on the CPU only. */
  io?: IoMode;
  /**
   * Mixture-of-experts layers: read each routed expert when the router picks it (default true);
   * false streams whole layers, every expert included.
   */
  expertStreaming?: boolean;
  /** Host bytes of experts kept between uses, least recently used out (default DEFAULT_EXPERT_CACHE_BYTES). */
  expertCacheBytes?: number;
  /** Compute threads; 0 or absent = one per hardware thread. */
  threads?: number;
  /**
   * A deliberate engine mistake, only for tests of the checks themselves. Defaults to the
   * RABBIT_BENCH_FAULT environment variable so child processes can be broken from outside.
   */
  fault?: FaultName;
  /**
   * Calibration only: every step spins until it has used this percentage more CPU time. Defaults to
   * RABBIT_BENCH_SLOWDOWN_PERCENT so `npm run bench:gate` can slow a gate's child runs.
   */
  slowdownPercent?: number;
}

export const DEFAULT_IO: IoMode = 'pread';
/**
 * bench:moe on the Qwen3-30B-A3B shape: hit rate 0% / 18% / 55% / 91% at 0 / 64 / 256 / 1024 MiB
 * over 2 sparse layers; 1 GiB is small beside the models experts are streamed for (that one is
 * 61 GB in bf16), so it bounds host memory while keeping a layer's recent experts.
 */
export const DEFAULT_EXPERT_CACHE_BYTES = 1024 * 2 ** 20;

function slowdownFromEnv(): number {
  const raw = process.env.RABBIT_BENCH_SLOWDOWN_PERCENT;
  if (raw === undefined || raw === '') return 0;
  const v = Number(raw);
  if (!(v >= 0)) throw new UserError(`RABBIT_BENCH_SLOWDOWN_PERCENT=${raw} must be a number >= 0`, 2);
  return v;
}

const FAULTS: readonly FaultName[] = ['none', 'boolean-mask', 'untied-lm-head', 'wrong-rope', 'abort'];

function faultFromEnv(): FaultName {
  const v = process.env.RABBIT_BENCH_FAULT ?? 'none';
  if (!(FAULTS as readonly string[]).includes(v)) {
    throw new UserError(`RABBIT_BENCH_FAULT=${v} is not a known fault (${FAULTS.join(', ')})`, 2);
  }
  return v as FaultName;
}

export type ResolvedEngineOptions = Required<Omit<EngineOptions, 'addon'>> & Pick<EngineOptions, 'addon'>;

export interface SamplingOptions {
  greedy?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
}

export interface GenerateOptions {
  promptIds: number[];
  maxNewTokens: number;
  sampling?: SamplingOptions;
  /** Defaults to the model's EOS ids; stopping can be turned off for fixed-length comparisons. */
  stopOnEos?: boolean;
  logits?: 'none' | 'prefill' | 'all';
  /** Record each step's timeline (StepRecord.spans), for a trace file. */
  trace?: boolean;
}

/** `device` is present only on a device backend (CUDA): its memory, peak and per unit. */
export type GenerateResult = NativeDeviceResult;

export function resolveSampling(s: SamplingOptions = {}): NativeSampling {
  const greedy = s.greedy ?? s.temperature === undefined;
  const out: NativeSampling = {
    greedy,
    temperature: s.temperature ?? 1,
    topK: s.topK ?? 0,
    topP: s.topP ?? 1,
    repetitionPenalty: s.repetitionPenalty ?? 1,
    seed: s.seed ?? 0,
  };
  if (!greedy && !(out.temperature > 0)) throw new UserError('--temperature must be > 0 (use --greedy for deterministic decoding)');
  if (!Number.isInteger(out.topK) || out.topK < 0) throw new UserError('--top-k must be a whole number >= 0');
  if (!(out.topP > 0 && out.topP <= 1)) throw new UserError('--top-p must be in (0, 1]');
  if (!(out.repetitionPenalty > 0)) throw new UserError('--repetition-penalty must be > 0');
  if (!Number.isSafeInteger(out.seed) || out.seed < 0) throw new UserError('--seed must be a whole number >= 0');
  return out;
}

/**
 * What measuring needs of an engine: generations with their step records, and the CPU time they
 * cost. InferenceEngine runs the native engine; tests stand a fake in for it.
 */
export interface TokenGenerator {
  generate(request: GenerateOptions, onToken?: (id: number) => void): Promise<GenerateResult>;
  /** CPU time used so far by the process the engine runs in (user + system, all threads), in ns. */
  cpuNs(): number;
}

export class InferenceEngine implements TokenGenerator {
  private constructor(
    readonly plan: LoadPlan,
    readonly options: ResolvedEngineOptions,
    private native: NativeEngine | undefined,
  ) {}

  private lastDevice: NativeDeviceStats | undefined;

  static open(plan: LoadPlan, options: EngineOptions = {}): InferenceEngine {
    const resolved: ResolvedEngineOptions = {
      addon: options.addon,
      device: options.device ?? 'cpu',
      pinMemory: options.pinMemory ?? true,
      asyncTransfer: options.asyncTransfer ?? true,
      emulateDevice: options.emulateDevice ?? false,
      prefetch: options.prefetch ?? true,
      resident: options.resident ?? false,
      dropAfterRead: options.dropAfterRead ?? false,
      io: options.io ?? DEFAULT_IO,
      expertStreaming: options.expertStreaming ?? true,
      expertCacheBytes: options.expertCacheBytes ?? DEFAULT_EXPERT_CACHE_BYTES,
      threads: options.threads ?? 0,
      fault: options.fault ?? faultFromEnv(),
      slowdownPercent: options.slowdownPercent ?? slowdownFromEnv(),
    };
    if (resolved.slowdownPercent > 0) {
      process.stderr.write(`rabbit-bench: WARNING: calibration slowdown of ${resolved.slowdownPercent}% injected into every step\n`);
    }
    if (resolved.fault !== 'none') {
      process.stderr.write(`rabbit-bench: WARNING: fault '${resolved.fault}' injected into the engine on purpose; results are wrong\n`);
    }
    if (!Number.isInteger(resolved.threads) || resolved.threads < 0) throw new UserError('--threads must be a whole number >= 0');
    if (!Number.isSafeInteger(resolved.expertCacheBytes) || resolved.expertCacheBytes < 0) {
      throw new UserError('--expert-cache must be a size >= 0 (MiB)', 2);
    }
    if (resolved.device !== 'cpu' && resolved.device !== 'cuda') throw new UserError(`--device must be cpu or cuda, not ${String(resolved.device)}`, 2);
    if (!IO_MODES.includes(resolved.io)) throw new UserError(`--io must be ${IO_MODES.join(', ')}, not ${String(resolved.io)}`, 2);
    if (resolved.io !== 'pread' && (resolved.device !== 'cpu' || resolved.emulateDevice)) {
      throw new UserError(`--io ${resolved.io} runs on the CPU only: CUDA reads units into its pinned buffers with pread`, 2);
    }
    const addon = loadAddon(resolved.addon);
    // Checked here so a missing library, driver or device is one clear sentence (exit 2).
    if (resolved.device === 'cuda') requireCuda('--device cuda');
    return new InferenceEngine(plan, resolved, new addon.Engine(plan, resolved));
  }

  get backend(): string {
    return this.live().backend;
  }

  /** Device memory after the latest generation (CUDA only; undefined on CPU or before any). */
  get deviceStats(): NativeDeviceStats | undefined {
    return this.lastDevice;
  }

  async generate(request: GenerateOptions, onToken?: (id: number) => void): Promise<GenerateResult> {
    if (!Number.isInteger(request.maxNewTokens) || request.maxNewTokens < 0) {
      throw new UserError('--max-new-tokens must be a whole number >= 0');
    }
    const result = await this.live().generate(
      {
        promptIds: request.promptIds,
        maxNewTokens: request.maxNewTokens,
        eosTokenIds: this.plan.spec.eosTokenIds,
        stopOnEos: request.stopOnEos ?? true,
        logits: request.logits ?? 'none',
        sampling: resolveSampling(request.sampling),
        trace: request.trace ?? false,
      },
      onToken,
    ).catch((err: unknown) => {
      // NaN or Inf in the activations come from the model's weights: bad input, exit 2.
      if ((err as { code?: unknown }).code === 'ERR_RB_NON_FINITE') throw new NonFiniteError((err as Error).message);
      throw err;
    });
    if (result.device) this.lastDevice = result.device;
    return result;
  }

  cpuNs(): number {
    const used = process.cpuUsage();
    return (used.user + used.system) * 1000;
  }

  close(): void {
    this.native?.close();
    this.native = undefined;
  }

  private live(): NativeEngine {
    if (!this.native) throw new Error('the engine is closed');
    return this.native;
  }
}
