// The typed face of the native engine for the commands: defaults, validation of options,
// and the promise-based generate with a per-token callback.
import { UserError } from '../errors.js';
import type { LoadPlan } from '../model/types.js';
import { loadAddon, type FaultName, type NativeEngine, type NativeSampling } from './native.js';
import type { NativeGenerateResult } from './records.js';

export interface EngineOptions {
  /** Read layer i+1 on a background thread while layer i computes (default true). */
  prefetch?: boolean;
  /** Keep every layer after its first load: the in-memory baseline (default false). */
  resident?: boolean;
  /** Compute threads; 0 or absent = one per hardware thread. */
  threads?: number;
  /**
   * A deliberate engine mistake, only for tests of the checks themselves. Defaults to the
   * RABBIT_BENCH_FAULT environment variable so child processes can be broken from outside.
   */
  fault?: FaultName;
  /**
   * Calibration only: every step spins for this percentage of its own time. Defaults to
   * RABBIT_BENCH_SLOWDOWN_PERCENT so `npm run bench:gate` can slow a gate's child runs.
   */
  slowdownPercent?: number;
}

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
}

export type GenerateResult = NativeGenerateResult;

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

export class InferenceEngine {
  private constructor(
    readonly plan: LoadPlan,
    readonly options: Required<EngineOptions>,
    private native: NativeEngine | undefined,
  ) {}

  static open(plan: LoadPlan, options: EngineOptions = {}): InferenceEngine {
    const resolved: Required<EngineOptions> = {
      prefetch: options.prefetch ?? true,
      resident: options.resident ?? false,
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
    const addon = loadAddon();
    return new InferenceEngine(plan, resolved, new addon.Engine(plan, resolved));
  }

  get backend(): string {
    return this.live().backend;
  }

  async generate(request: GenerateOptions, onToken?: (id: number) => void): Promise<GenerateResult> {
    if (!Number.isInteger(request.maxNewTokens) || request.maxNewTokens < 0) {
      throw new UserError('--max-new-tokens must be a whole number >= 0');
    }
    return this.live().generate(
      {
        promptIds: request.promptIds,
        maxNewTokens: request.maxNewTokens,
        eosTokenIds: this.plan.spec.eosTokenIds,
        stopOnEos: request.stopOnEos ?? true,
        logits: request.logits ?? 'none',
        sampling: resolveSampling(request.sampling),
      },
      onToken,
    );
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
