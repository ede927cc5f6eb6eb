// The model `profile` uses when given none: a random-weight checkpoint in a real model's shape,
// synthesised once into the rabbit-bench cache (synth/cache.ts). Timings depend on shapes, not on
// trained values.
import { ensureSynthesised } from '../synth/cache.js';
import { SYNTH_VERSION, writeCheckpoint } from '../synth/checkpoint.js';
import { shapeConfig, withByteLevelTokenIds } from '../synth/shapes.js';

export const DEFAULT_SHAPE = 'smollm2-135m';
const DEFAULT_SEED = 0;

/** Returns the cached default model folder, writing it first if needed. */
export function ensureDefaultModel(log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  return ensureSynthesised({
    name: `${DEFAULT_SHAPE}-bf16-seed${DEFAULT_SEED}-v${SYNTH_VERSION}`,
    what: `the default model (${DEFAULT_SHAPE} shape, bf16, random weights)`,
    write: (dir) => writeCheckpoint(dir, { config: withByteLevelTokenIds(shapeConfig(DEFAULT_SHAPE, { seed: DEFAULT_SEED })), dtype: 'bfloat16', shards: 1, seed: DEFAULT_SEED, tokenizer: 'byte-level' }),
  }, log, env);
}
