// Confidence interval for the ratio of medians (current / base) by bootstrap over runs.
//
// Why this and not Mann-Whitney U: the gate's threshold is an effect size ("5 % slower"), and
// the bootstrap gives an interval for exactly that ratio, in the metric's own terms, without
// assuming a distribution; Mann-Whitney only says whether the two samples differ in location.
import { median, quantile } from '../stats.js';

/** Deterministic so a given pair of files always gets the same interval. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface RatioInterval {
  ratio: number;
  lo: number;
  hi: number;
  confidence: number;
}

export function ratioOfMediansCI(base: readonly number[], current: readonly number[], confidence = 0.99, resamples = 4000, seed = 1): RatioInterval {
  if (base.length === 0 || current.length === 0) throw new Error('ratio of medians needs samples on both sides');
  const rand = rng(seed);
  const draw = (xs: readonly number[]) => median(Array.from(xs, () => xs[Math.floor(rand() * xs.length)]));
  const ratios: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const b = draw(base);
    ratios.push(b === 0 ? (draw(current) === 0 ? 1 : Infinity) : draw(current) / b);
  }
  const mb = median(base);
  const mc = median(current);
  const alpha = (1 - confidence) / 2;
  return { ratio: mb === 0 ? (mc === 0 ? 1 : Infinity) : mc / mb, lo: quantile(ratios, alpha), hi: quantile(ratios, 1 - alpha), confidence };
}
