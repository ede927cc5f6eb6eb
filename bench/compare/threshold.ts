// --threshold, as diff and gate read it: the smallest change that matters.
import { UserError } from '../errors.js';

export function parseThreshold(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  const v = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(v > 0 && v < 1)) throw new UserError(`--threshold must be like 5% or 0.05 (between 0 and 100%), got "${text}"`, 2);
  return v;
}
