// The synthetic checkpoints the benchmark runs on: random weights in real models' shapes, written
// once into the user cache beside the default model (the smollm2-135m bf16 entry is the default
// model itself) and reused after that.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../profile/default-model.js';
import { SYNTH_VERSION, writeCheckpoint } from '../synth/checkpoint.js';
import { shapeConfig, withByteLevelTokenIds } from '../synth/shapes.js';
import { DTYPES, type DtypeFlag } from './schema.js';

export const SYNTH_SEED = 0;

/** <cache>/models/<shape>-<dtype>-seed0-v<SYNTH_VERSION>, the naming of ensureDefaultModel. */
export function syntheticModelDir(shape: string, dtype: DtypeFlag, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'models', `${shape}-${dtype}-seed${SYNTH_SEED}-v${SYNTH_VERSION}`);
}

/**
 * The cached checkpoint, written first if absent. Like the default model it is written beside
 * its final name and renamed into place, so a folder with a config.json is complete.
 */
export function ensureSyntheticModel(shape: string, dtype: DtypeFlag, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  const dir = syntheticModelDir(shape, dtype, env);
  if (existsSync(join(dir, 'config.json'))) return dir;
  log(`synthesising ${shape} (${dtype}, random weights, seed ${SYNTH_SEED}) into ${dir} — once`);
  mkdirSync(join(cacheDir(env), 'models'), { recursive: true });
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  writeCheckpoint(partial, {
    config: withByteLevelTokenIds(shapeConfig(shape, { seed: SYNTH_SEED })),
    dtype: DTYPES[dtype],
    shards: 1,
    seed: SYNTH_SEED,
    tokenizer: 'byte-level',
  });
  renameSync(partial, dir);
  return dir;
}
