// The model `profile` uses when given none: a random-weight checkpoint in a real model's shape,
// synthesised once into the user cache. Timings depend on shapes, not on trained values.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SYNTH_VERSION, writeCheckpoint } from '../synth/checkpoint.js';
import { shapeConfig, withByteLevelTokenIds } from '../synth/shapes.js';

export const DEFAULT_SHAPE = 'smollm2-135m';
const DEFAULT_SEED = 0;

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'rabbit-bench');
}

/** Returns the cached default model folder, writing it first if needed. */
export function ensureDefaultModel(log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  const dir = join(cacheDir(env), 'models', `${DEFAULT_SHAPE}-bf16-seed${DEFAULT_SEED}-v${SYNTH_VERSION}`);
  if (existsSync(join(dir, 'config.json'))) return dir;
  log(`synthesising the default model (${DEFAULT_SHAPE} shape, bf16, random weights) into ${dir} — once`);
  mkdirSync(join(cacheDir(env), 'models'), { recursive: true });
  // Written beside and renamed into place, so an interrupted run never leaves half a model.
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  writeCheckpoint(partial, { config: withByteLevelTokenIds(shapeConfig(DEFAULT_SHAPE, { seed: DEFAULT_SEED })), dtype: 'bfloat16', shards: 1, seed: DEFAULT_SEED, tokenizer: 'byte-level' });
  renameSync(partial, dir);
  return dir;
}
