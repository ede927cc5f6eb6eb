// Loads the compiled addon. Only this file knows where cmake-js puts it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { repoRoot } from '../paths.js';
import type { LoadPlan } from '../model/types.js';
import type { NativeGenerateResult } from './records.js';

export interface NativeBuildInfo {
  compiler: string;
  flags: string;
  buildType: string;
  backends: string[];
  timers: boolean;
  openmp: boolean;
}

export type FaultName = 'none' | 'boolean-mask' | 'untied-lm-head' | 'wrong-rope' | 'abort';

export interface NativeEngineOptions {
  prefetch: boolean;
  resident: boolean;
  threads: number;
  fault: FaultName;
}

export interface NativeSampling {
  greedy: boolean;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  seed: number;
}

export interface NativeGenerateRequest {
  promptIds: number[];
  maxNewTokens: number;
  eosTokenIds: number[];
  stopOnEos: boolean;
  logits: 'none' | 'prefill' | 'all';
  sampling: NativeSampling;
}

export interface NativeEngine {
  readonly backend: string;
  generate(request: NativeGenerateRequest, onToken?: (id: number) => void): Promise<NativeGenerateResult>;
  close(): void;
}

export interface NativeAddon {
  Engine: new (plan: LoadPlan, options: NativeEngineOptions) => NativeEngine;
  buildInfo(): NativeBuildInfo;
}

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const path = join(repoRoot(), 'build', 'Release', 'rabbit_native.node');
  if (!existsSync(path)) {
    throw new UserError(`the native engine is not built (${path} is missing): run \`npm install\` or \`npm run build\``, 2);
  }
  // libgomp reads this once when it loads. Spinning workers would steal the cores the prefetch
  // thread and Node need (measured: 10x slower decode on 2 cores); users can still override it.
  process.env.OMP_WAIT_POLICY ??= 'passive';
  cached = createRequire(import.meta.url)(path) as NativeAddon;
  return cached;
}
