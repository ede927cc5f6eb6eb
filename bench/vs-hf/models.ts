// The synthetic checkpoints the benchmark runs on: random weights in real models' shapes, written
// once into the user cache beside the default model (the smollm2-135m bf16 entry is the default
// model itself) and reused after that.
import { join } from 'node:path';
import { ensureSynthesised, synthCacheDir } from '../synth/cache.js';
import { SYNTH_VERSION, writeCheckpoint } from '../synth/checkpoint.js';
import { shapeConfig, withByteLevelTokenIds } from '../synth/shapes.js';
import { DTYPES, type DtypeFlag } from './schema.js';

export const SYNTH_SEED = 0;

const modelName = (shape: string, dtype: DtypeFlag) => `${shape}-${dtype}-seed${SYNTH_SEED}-v${SYNTH_VERSION}`;

/** <cache>/models/<shape>-<dtype>-seed0-v<SYNTH_VERSION>, the naming of ensureDefaultModel. */
export function syntheticModelDir(shape: string, dtype: DtypeFlag, env: NodeJS.ProcessEnv = process.env): string {
  return join(synthCacheDir(env), modelName(shape, dtype));
}

/** The cached checkpoint, written first if absent. */
export function ensureSyntheticModel(shape: string, dtype: DtypeFlag, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  return ensureSynthesised({
    name: modelName(shape, dtype),
    what: `${shape} (${dtype}, random weights, seed ${SYNTH_SEED})`,
    write: (dir) => writeCheckpoint(dir, {
      config: withByteLevelTokenIds(shapeConfig(shape, { seed: SYNTH_SEED })),
      dtype: DTYPES[dtype],
      shards: 1,
      seed: SYNTH_SEED,
      tokenizer: 'byte-level',
    }),
  }, log, env);
}
