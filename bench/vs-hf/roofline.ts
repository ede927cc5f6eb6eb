// The decode roofline: a decode token reads every decoder-layer weight and the lm_head once, so
// it cannot be faster than those bytes divided by the bandwidth they come at (memory when the
// weights are resident, the page cache when they are re-read every token).
import { layerTensorRefs, type LoadPlan, type TensorRef } from '../model/types.js';
import type { MemoryBandwidth } from '../env/types.js';
import type { Roofline } from './schema.js';

export interface WeightBytes {
  /** As stored in the checkpoint (bf16 stays bf16): what the engine reads. */
  stored: number;
  /** The same tensors in float32: what transformers, loaded with torch_dtype=float32, reads. */
  f32: number;
}

/** Decoder layers + lm_head (the tied embedding when tied); the embedding lookup and final norm are negligible. */
export function decodeWeightBytes(plan: Pick<LoadPlan, 'layers' | 'lmHead'>): WeightBytes {
  const tensors: TensorRef[] = [...plan.layers.flatMap((l) => layerTensorRefs(l)), plan.lmHead];
  let stored = 0;
  let f32 = 0;
  for (const t of tensors) {
    stored += t.bytes;
    f32 += t.shape.reduce((a, b) => a * b, 1) * 4;
  }
  return { stored, f32 };
}

/**
 * The bandwidth the resident rooflines divide by: the best STREAM triad of the measurements
 * taken (start and end of the run), in bytes/s. The higher one is the stricter limit.
 */
export function memoryBandwidthUsed(measurements: readonly (MemoryBandwidth | null)[]): number {
  const best = Math.max(...measurements.filter((m): m is MemoryBandwidth => m !== null).map((m) => m.triad.best_gbps));
  if (!(best > 0)) throw new Error('no memory bandwidth measurement');
  return best * 1e9;
}

export function roofline(bytesPerToken: number, source: Roofline['bandwidth_source'], bandwidth: number, decodeTokPerS: number | null): Roofline {
  if (!(bytesPerToken > 0) || !(bandwidth > 0)) throw new Error(`roofline needs positive bytes and bandwidth, got ${bytesPerToken} B at ${bandwidth} B/s`);
  const limit = bandwidth / bytesPerToken;
  return {
    bytes_per_token: bytesPerToken,
    bandwidth_source: source,
    bandwidth,
    limit_tok_s: limit,
    percent: decodeTokPerS === null ? null : (100 * decodeTokPerS) / limit,
  };
}
