// Device memory of a CUDA run, as stored in result files and printed under the tables.
import { z } from 'zod';
import type { NativeDeviceStats } from '../engine/native.js';

const byteCount = z.number().nonnegative();

export const VramSummarySchema = z.object({
  device: z.string(),
  compute_capability: z.string(),
  total_bytes: byteCount,
  /** High-water mark of the backend's own device allocations (weights, KV cache, activations). */
  peak_bytes: byteCount,
  kv_cache_bytes: byteCount,
  activation_bytes: byteCount,
  /** Device bytes of each unit's weights: its bytes as read plus the tensors widened to f32. */
  unit_bytes: z.record(z.string(), byteCount),
  max_layer_bytes: byteCount,
  lm_head_bytes: byteCount,
  pinned_host: z.boolean(),
  async_transfer: z.boolean(),
  gemm: z.string(),
});
export type VramSummary = z.infer<typeof VramSummarySchema>;

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function vramSummary(stats: NativeDeviceStats): VramSummary {
  const layers = stats.unitBytes.length - 1;
  const unitBytes: Record<string, number> = {};
  stats.unitBytes.forEach((b, i) => (unitBytes[i === layers ? 'lm_head' : `layers.${i}`] = b));
  return {
    device: stats.name,
    compute_capability: stats.computeCapability,
    total_bytes: stats.totalBytes,
    peak_bytes: stats.peakBytes,
    kv_cache_bytes: stats.kvCacheBytes,
    activation_bytes: stats.activationBytes,
    unit_bytes: unitBytes,
    max_layer_bytes: Math.max(0, ...stats.unitBytes.slice(0, layers)),
    lm_head_bytes: stats.unitBytes[layers] ?? 0,
    pinned_host: stats.pinnedHost,
    async_transfer: stats.asyncTransfer,
    gemm: stats.gemm,
  };
}

export function vramLine(v: VramSummary): string {
  return (
    `GPU ${v.device} (sm_${v.compute_capability.replace('.', '')}) · ${v.pinned_host ? 'pinned' : 'pageable'} host memory · ` +
    `${v.async_transfer ? 'async' : 'synchronous'} transfer · GEMM ${v.gemm} · peak VRAM ${mib(v.peak_bytes)} of ${mib(v.total_bytes)} ` +
    `(largest layer ${mib(v.max_layer_bytes)}, lm_head ${mib(v.lm_head_bytes)}, KV cache ${mib(v.kv_cache_bytes)}, activations ${mib(v.activation_bytes)})`
  );
}
