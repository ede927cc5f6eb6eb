// The verdict on one metric from the interval of current/base and the threshold.
//
// `threshold` T is the smallest change that must be caught. A change is called only when it
// is statistically clear (the 99 % interval excludes "no change") and its estimate is at least
// T/2, so a real T change is flagged even when its estimate lands a little under T, while noise
// alone (an interval containing 1) is never flagged. "No change" needs the whole interval
// inside ±T; anything else is inconclusive and more samples are needed.
import type { RatioInterval } from './bootstrap.js';

export const VERDICTS = ['slower', 'faster', 'no change', 'inconclusive'] as const;
export type Verdict = (typeof VERDICTS)[number];

export function decide(ci: RatioInterval, better: 'lower' | 'higher', threshold: number): Verdict {
  // Express everything as "how much worse": > 1 is a regression whichever way the metric points.
  const worse = better === 'lower' ? ci : { ...ci, ratio: 1 / ci.ratio, lo: 1 / ci.hi, hi: 1 / ci.lo };
  if (worse.lo > 1 && worse.ratio >= 1 + threshold / 2) return 'slower';
  if (worse.hi < 1 && worse.ratio <= 1 - threshold / 2) return 'faster';
  if (worse.lo >= 1 - threshold && worse.hi <= 1 + threshold) return 'no change';
  return 'inconclusive';
}
