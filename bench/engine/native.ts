// Loads the compiled addon. Only this file knows where cmake-js puts it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
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

export interface NativeEngineOptions {
  prefetch: boolean;
  resident: boolean;
  threads: number;
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

function repoRoot(): string {
  // dist/bench/engine/native.js and bench/engine/native.ts both sit three levels below the root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('cannot find the rabbit-bench package root');
}

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const path = join(repoRoot(), 'build', 'Release', 'rabbit_native.node');
  if (!existsSync(path)) {
    throw new UserError(`the native engine is not built (${path} is missing): run \`npm install\` or \`npm run build\``, 2);
  }
  cached = createRequire(import.meta.url)(path) as NativeAddon;
  return cached;
}
