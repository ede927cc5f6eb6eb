// Confidence interval for the ratio of medians (current / base) by bootstrap over runs, or, for
// runs measured in interleaved pairs, for the median ratio within pairs.
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

/**
 * For runs measured in interleaved pairs (base i, current i, adjacent in time): the median of the
 * per-pair ratios, with a bootstrap over pairs. A slow drift in machine load moves both runs of a
 * pair alike and cancels in their ratio, so it neither biases nor widens the interval.
 */
export function pairedRatioCI(base: readonly number[], current: readonly number[], confidence = 0.99, resamples = 4000, seed = 1): RatioInterval {
  if (base.length === 0 || base.length !== current.length) throw new Error('paired ratios need the same number of runs on both sides');
  const ratios = base.map((b, i) => (b === 0 ? (current[i] === 0 ? 1 : Infinity) : current[i] / b));
  const rand = rng(seed);
  const medians = Array.from({ length: resamples }, () => median(Array.from(ratios, () => ratios[Math.floor(rand() * ratios.length)])));
  const alpha = (1 - confidence) / 2;
  return { ratio: median(ratios), lo: quantile(medians, alpha), hi: quantile(medians, 1 - alpha), confidence };
}
