// The native microbenchmarks, in the report's shape. Run one at a time: together they would
// compete for the same cores and memory bus.
import { loadAddon } from '../engine/native.js';
import type { DiskRead, MemoryBandwidth } from './types.js';

/** STREAM copy and triad; `arrayBytes` defaults to a working set 4x the L3 (at least 3 x 128 MiB). */
export async function measureMemoryBandwidth(options: { arrayBytes?: number; repeats?: number } = {}): Promise<MemoryBandwidth> {
  const r = await loadAddon().memoryBandwidth({ bytes: options.arrayBytes, repeats: options.repeats });
  const kernel = (k: typeof r.copy) => ({ bytes_per_element: k.bytesPerElement, best_gbps: k.bestGBps, median_gbps: k.medianGBps });
  return { array_bytes: r.bytes, element_bytes: r.elementBytes, threads: r.threads, repeats: r.repeats, copy: kernel(r.copy), triad: kernel(r.triad) };
}

/** Buffered cold and warm, then O_DIRECT, sequential reads of a temporary file in `dir` (default 256 MiB). */
export async function measureDiskRead(dir: string, bytes?: number): Promise<DiskRead> {
  const r = await loadAddon().diskReadBandwidth({ dir, bytes });
  return {
    dir: r.dir,
    file_bytes: r.bytes,
    block_bytes: r.blockBytes,
    cold_mbps: r.coldMBps,
    warm_mbps: r.warmMBps,
    resident_before_cold: r.residentBeforeCold,
    resident_before_warm: r.residentBeforeWarm,
    cold_device_bytes: r.coldDeviceBytes,
    direct: r.direct.map((d) => ({ block_bytes: d.blockBytes, in_flight: d.inFlight, mbps: d.mbps })),
    direct_refused: r.directRefused,
  };
}
