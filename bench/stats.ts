// Descriptive statistics over repeated measurements.
import { z } from 'zod';

/** Result files store these summaries, so they are validated on read. */
export const SummarySchema = z.object({
  n: z.number().int().positive(),
  median: z.number(),
  mean: z.number(),
  min: z.number(),
  max: z.number(),
  /** Sample standard deviation (n - 1); 0 for a single sample. */
  stdev: z.number().nonnegative(),
});
export type Summary = z.infer<typeof SummarySchema>;

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summary of no values');
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { n, median: median(values), mean, min: Math.min(...values), max: Math.max(...values), stdev: Math.sqrt(variance) };
}
