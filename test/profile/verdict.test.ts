import { describe, expect, it } from 'vitest';
import type { PhaseTotals } from '../../bench/profile/phases.js';
import { bottleneckVerdict } from '../../bench/profile/verdict.js';

function totals(p: Partial<PhaseTotals['phases']>, extra: Partial<PhaseTotals> = {}): PhaseTotals {
  const phases = { load_safe_tensor: 0, load_safe_tensor_cpu_wait: 0, create_layer: 0, forward_per_layer: 0, kv_fill: 0, ...p };
  const backgroundLoad = extra.backgroundLoad ?? 0;
  const foreground = phases.load_safe_tensor - backgroundLoad + phases.load_safe_tensor_cpu_wait + phases.create_layer + phases.forward_per_layer + phases.kv_fill;
  const wall = extra.wall ?? foreground + (extra.unaccounted ?? 0);
  return { phases, sampling: 0, backgroundLoad, unaccounted: Math.max(0, wall - foreground), wall, bytesRead: 0, deviceBytesRead: null, ...extra };
}

const streaming = { prefetch: true, resident: false, cache: 'cold-step' as const };

describe('bottleneck verdict', () => {
  it('disk: prefetch waits because loading takes longer than compute', () => {
    const v = bottleneckVerdict({ ...streaming, totals: totals({ load_safe_tensor: 900, load_safe_tensor_cpu_wait: 500, create_layer: 100, forward_per_layer: 300 }, { backgroundLoad: 900 }) });
    expect(v.bottleneck).toBe('disk');
    expect(v.line).toMatch(/^disk-bound \(device bytes not counted here; assumed from --cold\): prefetch waits 56% of wall time/);
    expect(v.advice).toMatch(/faster local SSD/);
  });

  it('prefetch stall: the compute thread waits although loads are shorter than compute', () => {
    const v = bottleneckVerdict({ ...streaming, totals: totals({ load_safe_tensor: 200, load_safe_tensor_cpu_wait: 400, create_layer: 100, forward_per_layer: 500 }, { backgroundLoad: 200 }) });
    expect(v.bottleneck).toBe('prefetch-stall');
    expect(v.line).toMatch(/prefetch is not overlapping/);
  });

  it('compute: forward dominates and prefetch hides the loads', () => {
    const v = bottleneckVerdict({ ...streaming, totals: totals({ load_safe_tensor: 200, load_safe_tensor_cpu_wait: 10, create_layer: 100, forward_per_layer: 800, kv_fill: 20 }, { backgroundLoad: 200 }) });
    expect(v.bottleneck).toBe('compute');
    expect(v.share).toBeCloseTo(820 / 930, 9);
    expect(v.advice).toMatch(/kernels/);
  });

  it('copy: create_layer dominates', () => {
    const v = bottleneckVerdict({ ...streaming, totals: totals({ load_safe_tensor: 100, create_layer: 600, forward_per_layer: 300 }, { backgroundLoad: 100 }) });
    expect(v.bottleneck).toBe('copy');
    expect(v.advice).toMatch(/pinned memory/);
  });

  it('disk without prefetch suggests turning prefetch on', () => {
    const v = bottleneckVerdict({ prefetch: false, resident: false, cache: 'cold-step', totals: totals({ load_safe_tensor: 700, create_layer: 100, forward_per_layer: 200 }) });
    expect(v.bottleneck).toBe('disk');
    expect(v.line).toMatch(/prefetch is off/);
  });

  it('overhead: most of the wall time is outside the phases', () => {
    const v = bottleneckVerdict({ ...streaming, totals: totals({ forward_per_layer: 100 }, { wall: 1000 }) });
    expect(v.bottleneck).toBe('overhead');
  });

  it('resident runs are judged on compute, whatever the (absent) waits', () => {
    const v = bottleneckVerdict({ prefetch: true, resident: true, cache: 'warm', totals: totals({ load_safe_tensor_cpu_wait: 0, forward_per_layer: 900, create_layer: 10 }) });
    expect(v.bottleneck).toBe('compute');
  });

  it('page-cache copy-bound: the same loads in a warm run are not the disk\'s', () => {
    const t = totals({ load_safe_tensor: 900, load_safe_tensor_cpu_wait: 500, create_layer: 100, forward_per_layer: 300 }, { backgroundLoad: 900 });
    const v = bottleneckVerdict({ ...streaming, cache: 'warm', totals: t });
    expect(v.bottleneck).toBe('page-cache');
    expect(v.line).toMatch(/^page-cache copy-bound \(device bytes not counted here; assumed from the warm cache\): prefetch waits 56% of wall time/);
    expect(v.advice).toMatch(/memory copy, not a disk read: --io mmap reads them in place.*--resident.*--cold/);
    // Already mapped: no copy to avoid, so no --io advice.
    const mapped = bottleneckVerdict({ ...streaming, cache: 'warm', totals: t, io: 'mmap' });
    expect(mapped.bottleneck).toBe('page-cache');
    expect(mapped.advice).toMatch(/mapped in place \(--io mmap\), not read from the disk: read fewer bytes/);
    expect(mapped.advice).not.toContain('memory copy');
  });

  it('the device bytes, not --cold, say whether the disk served the loads', () => {
    const phases = { load_safe_tensor: 900, load_safe_tensor_cpu_wait: 500, create_layer: 100, forward_per_layer: 300 };
    // --cold=run: evicted before the run, yet the page cache served all but the first step.
    const cachedAfterAll = bottleneckVerdict({ ...streaming, cache: 'cold-run', totals: totals(phases, { backgroundLoad: 900, bytesRead: 6e9, deviceBytesRead: 2.16e9 }) });
    expect(cachedAfterAll.bottleneck).toBe('page-cache');
    expect(cachedAfterAll.line).toMatch(/^page-cache copy-bound \(the page cache served 64% of the bytes read\): prefetch waits/);
    // A warm profile of a model larger than RAM reads the disk all the same.
    const tooBig = bottleneckVerdict({ ...streaming, cache: 'warm', totals: totals(phases, { backgroundLoad: 900, bytesRead: 6e9, deviceBytesRead: 5.9e9 }) });
    expect(tooBig.bottleneck).toBe('disk');
    expect(tooBig.line).toMatch(/^disk-bound \(the disk delivered 98% of the bytes read\)/);
    // Readahead can deliver more than was read: that is all of it, not more.
    const ahead = bottleneckVerdict({ ...streaming, totals: totals(phases, { backgroundLoad: 900, bytesRead: 1e9, deviceBytesRead: 1.2e9 }) });
    expect(ahead.line).toMatch(/the disk delivered 100% of the bytes read/);
  });

  it('a disk-bound verdict sets the loads\' read rate beside the disk\'s measured limit', () => {
    // 1.8 GB in 1.2 s of loads: 1500 MB/s.
    const t = totals({ load_safe_tensor: 1.2e9, load_safe_tensor_cpu_wait: 0.6e9, forward_per_layer: 0.3e9 }, { backgroundLoad: 1.2e9, bytesRead: 1.8e9, deviceBytesRead: 1.8e9 });
    const v = bottleneckVerdict({ ...streaming, totals: t, deviceReadLimitMBps: 1600 });
    expect(v.line).toMatch(/; loads read 1500 MB\/s, 94% of the 1600 MB\/s env measured for this disk → /);
    expect(bottleneckVerdict({ ...streaming, totals: t }).line).toMatch(/; loads read 1500 MB\/s → /);
    const warm = bottleneckVerdict({ ...streaming, cache: 'warm', totals: { ...t, deviceBytesRead: 0 }, deviceReadLimitMBps: 1600 });
    expect(warm.line).not.toMatch(/MB\/s/);
  });

  it('load-bound verdicts name rabbit-bench quantize and what each smaller type would read', () => {
    const t = totals({ load_safe_tensor: 900, load_safe_tensor_cpu_wait: 500, create_layer: 100, forward_per_layer: 300 }, { backgroundLoad: 900 });
    const MiB = 2 ** 20;
    const quantized = [{ type: 'Q8_0' as const, bytes: 136 * MiB }, { type: 'Q4_K_M' as const, bytes: 99 * MiB }, { type: 'Q6_K' as const, bytes: 300 * MiB }];
    const v = bottleneckVerdict({ ...streaming, totals: t, bytesPerToken: 256 * MiB, quantized });
    expect(v.bottleneck).toBe('disk');
    expect(v.advice).toMatch(/rabbit-bench quantize --type T --out FILE\.gguf cuts the 256\.0 MiB a token reads to: Q8_0 136\.0 MiB \(0\.53x\), Q4_K_M 99\.0 MiB \(0\.39x\)$/);
    const compute = bottleneckVerdict({ ...streaming, totals: totals({ forward_per_layer: 900 }), bytesPerToken: 256 * MiB, quantized });
    expect(compute.advice).not.toMatch(/quantize/);
  });
});
