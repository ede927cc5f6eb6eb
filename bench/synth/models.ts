// The models rabbit-bench synthesises for itself (profile's default model, cpu-vs-cuda's shapes,
// the bench scripts' models): random weights in a real model's shape, optionally cut to fewer
// decoder layers or written as GGUF in a type mix, once, into the one cache (synth/cache.ts),
// under one naming scheme. Timings depend on shapes, not on trained values.
import { UserError } from '../errors.js';
import { DTYPE_FLAG_OF, FLOAT_DTYPE_OF, storageBytes } from '../model/dtype.js';
import type { ModelDtype } from '../model/types.js';
import { parseMix } from '../quantize/quantize.js';
import { ensureSynthesised } from './cache.js';
import { SYNTH_VERSION, writeCheckpoint } from './checkpoint.js';
import { estimateGgufBytes, writeSyntheticGguf } from './gguf.js';
import { countParams, getShape, shapeConfig, withByteLevelTokenIds, type HfConfig } from './shapes.js';

/** The shape of the model `profile` (and every command that needs one) uses when given none. */
export const DEFAULT_SHAPE = 'smollm2-135m';
/** Decoder layers a cut shape keeps unless told (cpu-vs-cuda --layers): enough for per-layer timings, small enough for 70B shapes. */
export const DEFAULT_SHAPE_LAYERS = 4;
const DEFAULT_SEED = 0;


interface ShapeModelCommon {
  shape: string;
  /** Decoder layers to keep (default: all of the real model's); the embedding and lm_head keep their real sizes. */
  layers?: number;
  /** Default 0. */
  seed?: number;
  /** What the log line calls it (default: the shape's name); not part of the cache entry's name. */
  label?: string;
}

/** A safetensors checkpoint in `dtype`, or (format 'gguf') one GGUF file in the type mix `dtype` (Q8_0, Q4_K_M, ...). */
export type ShapeModelSpec = ShapeModelCommon & ({ format?: 'safetensors'; dtype: ModelDtype } | { format: 'gguf'; dtype: string });

export interface ShapeModel {
  /** The checkpoint folder, or the GGUF file. */
  path: string;
  shape: string;
  /** Decoder layers in the model, and in the real one. */
  layers: number;
  fullLayers: number;
  /** Parameters of the real (full-depth) model. */
  fullParams: number;
}

interface Resolved {
  shape: string;
  kept: number;
  full: number;
  seed: number;
  /** bf16, f32, f16, or the GGUF mix. */
  tag: string;
}

function resolveSpec(spec: ShapeModelSpec): Resolved {
  const full = Number(getShape(spec.shape).config.num_hidden_layers);
  const layers = spec.layers ?? full;
  if (!Number.isInteger(layers) || layers < 1) throw new UserError('--layers must be a whole number >= 1', 2);
  const tag = spec.format === 'gguf' ? parseMix(spec.dtype) : DTYPE_FLAG_OF[spec.dtype];
  return { shape: spec.shape, kept: Math.min(layers, full), full, seed: spec.seed ?? DEFAULT_SEED, tag };
}

/**
 * The cache entry's name: <shape>[-L<layers>]-<bf16|f32|f16|GGUF mix>-seed<seed>-v<SYNTH_VERSION>[.gguf],
 * with -L<layers> only for a model cut short of the real depth (so the default model is
 * smollm2-135m-bf16-seed0-v1, and a full-depth request of its shape shares it).
 */
export function shapeModelName(spec: ShapeModelSpec): string {
  const r = resolveSpec(spec);
  const cut = r.kept < r.full ? `-L${r.kept}` : '';
  return `${r.shape}${cut}-${r.tag}-seed${r.seed}-v${SYNTH_VERSION}${spec.format === 'gguf' ? '.gguf' : ''}`;
}

/** What the cache writes for `spec`, and the bytes it will take. */
function writer(spec: ShapeModelSpec, config: HfConfig, r: Resolved): { bytes: number; write: (path: string) => void } {
  if (spec.format === 'gguf') {
    const mix = parseMix(spec.dtype);
    return { bytes: estimateGgufBytes(config, mix), write: (path) => writeSyntheticGguf(path, { config, mix, seed: r.seed, name: r.shape }) };
  }
  const dtype = spec.dtype;
  return {
    bytes: storageBytes(FLOAT_DTYPE_OF[dtype], countParams(config))!,
    write: (path) => writeCheckpoint(path, { config, dtype, shards: 1, seed: r.seed, tokenizer: 'byte-level' }),
  };
}

/** The cached model of `spec`, synthesised first if absent; refused up front when the cache's disk has too little room. */
export function ensureShapeModel(spec: ShapeModelSpec, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): ShapeModel {
  const r = resolveSpec(spec);
  const { bytes, write } = writer(spec, withByteLevelTokenIds(shapeConfig(r.shape, { layers: r.kept, seed: r.seed })), r);
  const depth = r.kept < r.full ? `${r.kept} of ${r.full} layers, ` : '';
  const path = ensureSynthesised({
    name: shapeModelName(spec),
    what: `${spec.label ? `${spec.label} (${r.shape} shape, ` : `${r.shape} (`}${depth}${r.tag}${spec.format === 'gguf' ? ' GGUF' : ''}, ` +
      `random weights, seed ${r.seed}, ${(bytes / 2 ** 20).toFixed(0)} MiB)`,
    write,
    bytes,
    smaller: spec.layers !== undefined && r.kept > 1 ? 'use fewer --layers' : undefined,
  }, log, env);
  return { path, shape: r.shape, layers: r.kept, fullLayers: r.full, fullParams: getShape(r.shape).params };
}

/** The default model's folder (DEFAULT_SHAPE, bf16, every layer), synthesised first if needed. */
export function ensureDefaultModel(log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  return ensureShapeModel({ shape: DEFAULT_SHAPE, dtype: 'bfloat16', label: 'the default model' }, log, env).path;
}

/** A --shapes list: known shape names, comma-separated, each once. */
export function parseShapeList(list: string): string[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UserError('--shapes needs at least one shape name', 2);
  for (const n of names) {
    try {
      getShape(n);
    } catch (err) {
      throw new UserError(`--shapes: ${(err as Error).message}`, 2); // a usage error, listing the known shapes
    }
  }
  return [...new Set(names)];
}
