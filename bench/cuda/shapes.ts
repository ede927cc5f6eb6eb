// Models for `cpu-vs-cuda --shapes`: random-weight checkpoints in real models' shapes, cut to a
// few decoder layers so that 1B-70B shapes fit on a small disk, synthesised once into the
// rabbit-bench cache (like profile's default model). The embedding and lm_head keep their real
// sizes; timings depend on shapes, not on trained values.
import { UserError } from '../errors.js';
import type { ModelDtype } from '../model/types.js';
import { ensureSynthesised } from '../synth/cache.js';
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
  const config = withByteLevelTokenIds(shapeConfig(shape, { layers: kept, seed: SEED }));
  const bytes = countParams(config) * DTYPE_BYTES[dtype];
  const dir = ensureSynthesised({
    name: `${shape}-L${kept}-${DTYPE_TAG[dtype]}-seed${SEED}-v${SYNTH_VERSION}`,
    what: `${shape} (${kept} of ${fullLayers} layers, ${dtype}, random weights, ${(bytes / 2 ** 20).toFixed(0)} MiB)`,
    write: (path) => writeCheckpoint(path, { config, dtype, shards: 1, seed: SEED, tokenizer: 'byte-level' }),
    bytes,
    smaller: 'use fewer --layers',
  }, log, env);
  return { shape, dir, layers: kept, fullLayers, fullParams: info.params };
}
