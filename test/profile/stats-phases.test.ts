import { describe, expect, it } from 'vitest';
import type { StepRecord, UnitRecord } from '../../bench/engine/records.js';
import { computeNs, deviceShare, overlapEfficiency, stepTotals } from '../../bench/profile/phases.js';
import { summarizeProfile } from '../../bench/profile/summary.js';
import { median, quantile, summarize } from '../../bench/stats.js';

const unit = (name: string, u: Partial<UnitRecord>): UnitRecord => ({
  name, loadNs: 0, bytesRead: 0, cpuWaitNs: 0, createNs: 0, forwardNs: 0, kvFillNs: 0, loadInBackground: false, ...u,
});

function step(kind: 'prefill' | 'decode', wallNs: number, units: UnitRecord[], sampleNs = 0, deviceBytesRead: number | null = null): StepRecord {
  return { kind, tokens: kind === 'prefill' ? 4 : 1, position: 0, wallNs, sampleNs, peakRssBytes: 1000, deviceBytesRead, units };
}

describe('statistics', () => {
  it('median, quantiles and sample stdev', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s).toMatchObject({ n: 8, median: 4.5, mean: 5, min: 2, max: 9 });
    expect(s.stdev).toBeCloseTo(2.138, 3);
    expect(summarize([3]).stdev).toBe(0);
    expect(() => summarize([])).toThrow(/no values/);
  });
});

describe('phase accounting', () => {
  it('background loads are outside the wall split; the rest of the wall is unaccounted', () => {
    const s = step('decode', 1000, [
      unit('layers.0', { loadNs: 400, loadInBackground: true, cpuWaitNs: 50, createNs: 100, forwardNs: 300, kvFillNs: 20, bytesRead: 64 }),
      unit('lm_head', { loadNs: 200, loadInBackground: true, cpuWaitNs: 10, createNs: 40, forwardNs: 200, bytesRead: 32 }),
    ], 30);
    const t = stepTotals([s]);
    expect(t.wall).toBe(1030);
    expect(t.phases).toEqual({ load_safe_tensor: 600, load_safe_tensor_cpu_wait: 60, create_layer: 140, forward_per_layer: 500, kv_fill: 20 });
    expect(t.backgroundLoad).toBe(600);
    expect(t.sampling).toBe(30);
    expect(t.unaccounted).toBe(1030 - (60 + 140 + 500 + 20 + 30));
    expect(t.bytesRead).toBe(96);
    expect(computeNs(t)).toBe(660);
    expect(overlapEfficiency(t)).toBeCloseTo(660 / 1030, 12);
  });

  it('device bytes add up over steps; one step the kernel could not count makes the run unknown', () => {
    const read = (b: number) => [unit('layers.0', { loadNs: 10, bytesRead: b })];
    const t = stepTotals([step('prefill', 100, read(1000), 0, 900), step('decode', 100, read(1000), 0, 100)]);
    expect(t).toMatchObject({ bytesRead: 2000, deviceBytesRead: 1000 });
    expect(deviceShare(t)).toBe(0.5);
    expect(deviceShare({ bytesRead: 1000, deviceBytesRead: 1500 })).toBe(1);
    expect(deviceShare({ bytesRead: 0, deviceBytesRead: 0 })).toBeNull();
    expect(stepTotals([step('prefill', 100, read(1000), 0, 900), step('decode', 100, read(1000))]).deviceBytesRead).toBeNull();
  });

  it('summaries carry device bytes and the page cache\'s share per run, or null where not counted', () => {
    const units = [{ name: 'layers.0', bytes: 1000, dtypes: { F32: 1000 } }];
    const run = (device: number) => [step('prefill', 1e6, [unit('layers.0', { loadNs: 1e5, bytesRead: 1000 })], 0, device),
      step('decode', 1e6, [unit('layers.0', { loadNs: 1e5, bytesRead: 1000 })], 0, 0)];
    const s = summarizeProfile([run(2000), run(1000), run(500)], { prefetch: true, resident: false, cache: 'cold-run', units, quantized: [] });
    expect(s.cache).toBe('cold-run');
    expect(s.device_bytes_read!.median).toBe(1000);
    expect(s.page_cache_share).toBe(0.5);
    expect(s.device_read_limit_mb_per_s).toBeNull();
    const unknown = summarizeProfile([[step('prefill', 1e6, [unit('layers.0', { bytesRead: 1000 })])]], { prefetch: true, resident: false, cache: 'warm', units, quantized: [], deviceReadLimitMBps: 1500 });
    expect(unknown).toMatchObject({ device_bytes_read: null, page_cache_share: null, device_read_limit_mb_per_s: 1500 });
  });

  it('foreground loads count against the wall, and unaccounted is never negative', () => {
    const t = stepTotals([step('prefill', 100, [unit('layers.0', { loadNs: 70, forwardNs: 50 })])]);
    expect(t.backgroundLoad).toBe(0);
    expect(t.unaccounted).toBe(0);
  });

  it('summarises runs: per-run phase stats, TTFT, decode rate and per-unit medians over decode steps', () => {
    const run = (f: number) => [
      step('prefill', 5_000_000 * f, [unit('layers.0', { forwardNs: 4_000_000 * f })]),
      step('decode', 1_000_000 * f, [unit('layers.0', { forwardNs: 800_000 * f, loadNs: 300_000, loadInBackground: true, bytesRead: 3e6 })]),
      step('decode', 1_000_000 * f, [unit('layers.0', { forwardNs: 900_000 * f, loadNs: 300_000, loadInBackground: true, bytesRead: 3e6 })]),
    ];
    const units = [{ name: 'layers.0', bytes: 3e6, dtypes: { Q4_K: 2.5e6, F32: 0.5e6 } }];
    const s = summarizeProfile([run(1), run(2), run(1)], { prefetch: true, resident: false, cache: 'warm', units, quantized: [] });
    expect(s.measured_runs).toBe(3);
    expect(s.prefill.ttft_ms.median).toBe(5);
    expect(s.decode.steps).toBe(2);
    expect(s.decode.tok_per_s!.median).toBeCloseTo(1000, 6);
    expect(s.decode.ms_per_token!.max).toBeCloseTo(2, 9);
    expect(s.phases.forward_per_layer.median).toBeCloseTo(5.7, 9);
    expect(s.phases.forward_per_layer.max).toBeCloseTo(11.4, 9);
    expect(s.layers).toHaveLength(1);
    expect(s.layers[0].forward_ms).toBeCloseTo(0.9, 9);
    expect(s.layers[0].load_ms).toBeCloseTo(0.3, 9);
    expect(s.layers[0]).toMatchObject({ unit_bytes: 3e6, bytes_per_decode_step: 3e6, dtypes: { Q4_K: 2.5e6, F32: 0.5e6 } });
    expect(s.bytes_per_decode_step).toBe(3e6);
    expect(s.dtypes).toEqual({ Q4_K: 2.5e6, F32: 0.5e6 });
    const withEmbed = summarizeProfile([run(1)], { prefetch: true, resident: false, cache: 'warm', units: [{ name: 'embed', bytes: 9e6, dtypes: { Q8_0: 9e6 } }, ...units], quantized: [] });
    expect(withEmbed.dtypes).toEqual({ Q4_K: 2.5e6, F32: 0.5e6 });
    expect(s.bytes_read.median).toBe(6e6);
    expect(s.read_mb_per_s!.median).toBeCloseTo(6 / 0.0006, 3);
    expect(s.background_load).toBe(true);
    expect(s.verdict.bottleneck).toBe('compute');
  });
});
