// `--shard K/N`: a run's work split deterministically into N parts, so N machines (a CI matrix,
// a Slurm array) each run one and `rabbit-bench merge` puts the results back together. Part K
// takes every N-th unit of work, starting at the K-th, in the run's fixed order: the parts are
// disjoint, cover everything, and stay balanced whatever the order's costs.
import { UserError } from './errors.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

const MAX_SHARDS = 100_000;

export function parseShard(text: string | undefined, option = '--shard'): Shard | null {
  if (text === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || count > MAX_SHARDS || index < 1 || index > count) {
    throw new UserError(`${option} must be K/N with 1 <= K <= N <= ${MAX_SHARDS} (e.g. 2/8), not ${JSON.stringify(text)}`, 2);
  }
  return { index, count };
}

/** Whether the unit of work at `position` (0-based, in the run's order) belongs to `shard`. */
export function inShard(position: number, shard: Shard | null): boolean {
  return shard === null || position % shard.count === shard.index - 1;
}

export const shardLabel = (s: Shard) => `shard${s.index}of${s.count}`;
