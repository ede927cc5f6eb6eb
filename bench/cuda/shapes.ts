// Models for `cpu-vs-cuda --shapes`: random-weight checkpoints in real models' shapes, cut to a
// few decoder layers so that 1B-70B shapes fit on a small disk, synthesised once into the
// rabbit-bench cache (like profile's default model). The embedding and lm_head keep their real
// sizes; timings depend on shapes, not on trained values.
import { existsSync, mkdirSync, renameSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { ModelDtype } from '../model/types.js';
import { cacheDir } from '../profile/default-model.js';
import { SYNTH_VERSION, writeCheckpoint } from '../synth/checkpoint.js';
import { countParams, getShape, shapeConfig, withByteLevelTokenIds } from '../synth/shapes.js';

/** Decoder layers kept by default: enough for per-layer timings, small enough for 70B shapes. */
export const DEFAULT_SHAPE_LAYERS = 4;
const SEED = 0;
const DTYPE_TAG: Record<ModelDtype, string> = { float32: 'f32', bfloat16: 'bf16', float16: 'f16' };
const DTYPE_BYTES: Record<ModelDtype, number> = { float32: 4, bfloat16: 2, float16: 2 };

export interface ShapeModel {
  shape: string;
  dir: string;
  /** Decoder layers in the checkpoint, and in the real model. */
  layers: number;
  fullLayers: number;
  /** Parameters of the real (full-depth) model. */
  fullParams: number;
}

export function parseShapeList(list: string): string[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UserError('--shapes needs at least one shape name', 2);
  for (const n of names) {
    try {
      getShape(n);
    } catch (err) {
      throw new UserError(`--shapes: ${(err as Error).message}`, 2);  // a usage error, listing the known shapes
    }
  }
  return [...new Set(names)];
}

/** The cached checkpoint of `shape` with `layers` decoder layers, written first if needed. */
export function ensureShapeModel(shape: string, layers: number, dtype: ModelDtype, log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env): ShapeModel {
  const info = getShape(shape);
  const fullLayers = Number(info.config.num_hidden_layers);
  if (!Number.isInteger(layers) || layers < 1) throw new UserError('--layers must be a whole number >= 1', 2);
  const kept = Math.min(layers, fullLayers);
  const models = join(cacheDir(env), 'models');
  const dir = join(models, `${shape}-L${kept}-${DTYPE_TAG[dtype]}-seed${SEED}-v${SYNTH_VERSION}`);
  const result = { shape, dir, layers: kept, fullLayers, fullParams: info.params };
  if (existsSync(join(dir, 'config.json'))) return result;
  const config = withByteLevelTokenIds(shapeConfig(shape, { layers: kept, seed: SEED }));
  const bytes = countParams(config) * DTYPE_BYTES[dtype];
  mkdirSync(models, { recursive: true });
  const fs = statfsSync(models);
  const free = Number(fs.bavail) * Number(fs.bsize);
  if (bytes * 1.05 > free) {
    throw new UserError(`synthesising ${shape} with ${kept} layers needs ${(bytes / 2 ** 30).toFixed(2)} GiB in ${models}, ` +
      `but only ${(free / 2 ** 30).toFixed(2)} GiB are free: use fewer --layers or free some space`);
  }
  log(`synthesising ${shape} (${kept} of ${fullLayers} layers, ${dtype}, random weights, ${(bytes / 2 ** 20).toFixed(0)} MiB) into ${dir} — once`);
  // Written beside and renamed into place, so an interrupted run never leaves half a model.
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  writeCheckpoint(partial, { config, dtype, shards: 1, seed: SEED, tokenizer: 'byte-level' });
  renameSync(partial, dir);
  return result;
}
