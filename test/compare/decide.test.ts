import { describe, expect, it } from 'vitest';
import { pairedRatioCI, ratioOfMediansCI } from '../../bench/compare/bootstrap.js';
import { decide } from '../../bench/compare/decide.js';
import { parseThreshold } from '../../bench/compare/threshold.js';

const ci = (ratio: number, lo: number, hi: number) => ({ ratio, lo, hi, confidence: 0.99 });

describe('verdict rule', () => {
  it('slower only when the interval excludes 1 and the estimate is at least half the threshold', () => {
    expect(decide(ci(1.06, 1.02, 1.1), 'lower', 0.05)).toBe('slower');
    expect(decide(ci(1.03, 1.01, 1.05), 'lower', 0.05)).toBe('slower');
    expect(decide(ci(1.06, 0.99, 1.12), 'lower', 0.05)).toBe('inconclusive');
    expect(decide(ci(1.02, 1.005, 1.04), 'lower', 0.05)).toBe('no change');
  });

  it('no change needs the whole interval inside ±threshold', () => {
    expect(decide(ci(1.0, 0.97, 1.04), 'lower', 0.05)).toBe('no change');
    expect(decide(ci(1.0, 0.9, 1.1), 'lower', 0.05)).toBe('inconclusive');
  });

  it('higher-is-better metrics are judged the other way round', () => {
    expect(decide(ci(0.9, 0.85, 0.95), 'higher', 0.05)).toBe('slower');
    expect(decide(ci(1.1, 1.05, 1.15), 'higher', 0.05)).toBe('faster');
    expect(decide(ci(0.9, 0.85, 0.95), 'lower', 0.05)).toBe('faster');
  });
});

describe('bootstrap interval of the ratio of medians', () => {
  const noisy = (n: number, scale: number, seed: number) => {
    let s = seed;
    return Array.from({ length: n }, () => {
      s = (s * 1103515245 + 12345) >>> 0;
      return scale * (1 + 0.02 * ((s / 2 ** 32) - 0.5));
    });
  };

  it('covers the true ratio and excludes 1 for a clear 10% shift', () => {
    const r = ratioOfMediansCI(noisy(20, 100, 1), noisy(20, 110, 2));
    expect(r.ratio).toBeCloseTo(1.1, 2);
    expect(r.lo).toBeGreaterThan(1);
    expect(r.lo).toBeLessThan(1.1);
    expect(r.hi).toBeGreaterThan(1.1);
  });

  it('contains 1 for two samples from the same distribution, and is deterministic', () => {
    const a = noisy(15, 100, 3);
    const b = noisy(15, 100, 4);
    const r = ratioOfMediansCI(a, b);
    expect(r.lo).toBeLessThan(1);
    expect(r.hi).toBeGreaterThan(1);
    expect(ratioOfMediansCI(a, b)).toEqual(r);
  });

  it('rejects empty samples', () => {
    expect(() => ratioOfMediansCI([], [1])).toThrow(/samples on both sides/);
  });
});

describe('paired interval (runs measured alternately)', () => {
  // Machine load drifting during the measurement: every run of both sides slows along the same
  // ramp, and each pair sees the same point of it.
  const drift = (i: number) => 1 + i / 10;
  const jitter = (i: number) => 1 + 0.004 * Math.sin(7 * i);
  const base = Array.from({ length: 12 }, (_, i) => 100 * drift(i) * jitter(i));
  const slower = base.map((_, i) => 1.1 * 100 * drift(i) * jitter(i + 3));

  it('sees a 10% change through a drift that swamps the unpaired interval', () => {
    const paired = pairedRatioCI(base, slower);
    expect(paired.ratio).toBeCloseTo(1.1, 2);
    expect(paired.lo).toBeGreaterThan(1.08);
    expect(paired.hi).toBeLessThan(1.12);
    const unpaired = ratioOfMediansCI(base, slower);
    expect(unpaired.lo).toBeLessThan(1);
    expect(decide(paired, 'lower', 0.05)).toBe('slower');
    expect(decide(unpaired, 'lower', 0.05)).toBe('inconclusive');
  });

  it('reads no change for the same engine through the drift, and needs equal run counts', () => {
    const same = base.map((_, i) => 100 * drift(i) * jitter(i + 5));
    expect(decide(pairedRatioCI(base, same), 'lower', 0.05)).toBe('no change');
    expect(() => pairedRatioCI(base, same.slice(1))).toThrow(/same number of runs/);
  });
});

describe('threshold option', () => {
  it('accepts 5% and 0.05, rejects nonsense', () => {
    expect(parseThreshold('5%')).toBeCloseTo(0.05, 12);
    expect(parseThreshold('0.05')).toBeCloseTo(0.05, 12);
    expect(() => parseThreshold('150%')).toThrow(/--threshold/);
    expect(() => parseThreshold('fast')).toThrow(/--threshold/);
  });
});
