// The one-line bottleneck verdict, with the advice of RabbitLLM's troubleshooting notes
// (shared/seeds/001): what dominates, and what to do about it.
import { computeNs, type PhaseTotals } from './phases.js';

export type Bottleneck = 'disk' | 'copy' | 'compute' | 'prefetch-stall' | 'overhead';

export interface Verdict {
  bottleneck: Bottleneck;
  /** The dominant cost's share of wall time, 0..1. */
  share: number;
  line: string;
  advice: string;
}

export interface VerdictInput {
  totals: PhaseTotals;
  prefetch: boolean;
  resident: boolean;
}

/** cpu_wait above this share of wall time means the compute thread is starved. */
export const STALL_SHARE = 0.2;
/** Unaccounted time above this share means the phases miss where the time goes. */
export const OVERHEAD_SHARE = 0.4;

const ADVICE: Record<Bottleneck, string> = {
  disk: 'put the model on a faster local SSD/NVMe, or read fewer bytes (a smaller dtype or compression; compression disables prefetch in RabbitLLM, so measure both)',
  copy: 'keep prefetch on so copies overlap loading; on CUDA use pinned memory and async transfer; store weights in the compute dtype so create_layer has nothing to convert',
  compute: 'faster attention and kernels (SDPA/Flash on GPU, SIMD kernels on CPU), more threads, or a smaller model; on small models the CPU can beat CUDA',
  'prefetch-stall': 'the compute thread waits for layers that should already be loaded: check that prefetch is on and overlapping (--no-prefetch vs default), and that nothing else competes for the disk',
  overhead: 'time goes outside the measured phases (sampling, embedding, scheduling): profile with more tokens per step or report it',
};

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

export function bottleneckVerdict({ totals: t, prefetch, resident }: VerdictInput): Verdict {
  const wall = t.wall || 1;
  const load = t.phases.load_safe_tensor;
  const wait = t.phases.load_safe_tensor_cpu_wait;
  const create = t.phases.create_layer;
  const compute = t.phases.forward_per_layer + t.phases.kv_fill;
  const make = (bottleneck: Bottleneck, share: number, what: string): Verdict => ({
    bottleneck,
    share,
    line: `${what} → ${ADVICE[bottleneck]}`,
    advice: ADVICE[bottleneck],
  });

  if (t.unaccounted / wall > OVERHEAD_SHARE) {
    return make('overhead', t.unaccounted / wall, `overhead-bound: ${pct(t.unaccounted / wall)} of wall time is outside the measured phases`);
  }
  if (prefetch && !resident && wait / wall > STALL_SHARE) {
    // Waiting is expected when reading takes longer than computing: then the disk is the limit.
    if (load > computeNs(t)) {
      return make('disk', wait / wall, `disk-bound: prefetch waits ${pct(wait / wall)} of wall time because loading (${ms(load)}) takes longer than compute (${ms(computeNs(t))})`);
    }
    return make('prefetch-stall', wait / wall, `prefetch is not overlapping: the compute thread waits ${pct(wait / wall)} of wall time although loads (${ms(load)}) are shorter than compute (${ms(computeNs(t))})`);
  }
  const foregroundLoad = load - t.backgroundLoad;
  const candidates: [Bottleneck, number, string][] = [
    ['disk', (foregroundLoad + wait) / wall, 'disk-bound: load_safe_tensor'],
    ['copy', create / wall, 'copy-bound: create_layer'],
    ['compute', compute / wall, 'compute-bound: forward_per_layer'],
  ];
  const [bottleneck, share, what] = candidates.reduce((a, b) => (b[1] > a[1] ? b : a));
  const hint = bottleneck === 'disk' && !prefetch ? ' (prefetch is off: turning it on hides loads behind compute)' : '';
  return make(bottleneck, share, `${what} takes ${pct(share)} of wall time${hint}`);
}

function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(1)} ms`;
}
