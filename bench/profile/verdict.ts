// The one-line bottleneck verdict, with the advice of RabbitLLM's troubleshooting notes
// (shared/seeds/001): what dominates, and what to do about it.
import { z } from 'zod';
import type { IoMode } from '../engine/native.js';
import type { MixEstimate } from '../quantize/estimate.js';
import type { CacheMode } from '../results/profile-schema.js';
import { computeNs, deviceShare, type PhaseTotals } from './phases.js';

/**
 * 'page-cache': loads dominate, but the page cache served them: a memory copy, not the disk.
 * 'expert-load': a mixture-of-experts model's routed experts, read on the compute thread, dominate.
 */
export const BOTTLENECKS = ['disk', 'page-cache', 'copy', 'compute', 'prefetch-stall', 'overhead', 'expert-load'] as const;
export type Bottleneck = (typeof BOTTLENECKS)[number];

export const VerdictSchema = z.object({
  bottleneck: z.enum(BOTTLENECKS),
  /** The dominant cost's share of wall time, 0..1. */
  share: z.number().nonnegative(),
  line: z.string(),
  advice: z.string(),
});
export type Verdict = z.infer<typeof VerdictSchema>;

export interface VerdictInput {
  totals: PhaseTotals;
  prefetch: boolean;
  resident: boolean;
  /** What the profile did to the page cache; decides disk vs page cache only where device bytes are unknown. */
  cache: CacheMode;
  /** Weight bytes a decode token reads now, and in the smaller GGUF types rabbit-bench quantize writes. */
  bytesPerToken?: number;
  quantized?: readonly MixEstimate[];
  /** What `env` measured the disk to deliver (MB/s), for a disk-bound verdict to compare with. */
  deviceReadLimitMBps?: number;
  /** How units were read; only mmap changes the advice (it already reads the page cache in place). */
  io?: IoMode;
}

/** Under --io mmap a page-cache load maps pages instead of copying them. */
const MAPPED_PAGE_CACHE = 'the page cache served the loads, mapped in place (--io mmap), not read from the disk: read fewer bytes, or keep the layers in memory (--resident) if they fit; --cold (every step from the disk) measures what a model larger than RAM would read';

/** cpu_wait above this share of wall time means the compute thread is starved. */
export const STALL_SHARE = 0.2;
/** Unaccounted time above this share means the phases miss where the time goes. */
export const OVERHEAD_SHARE = 0.4;
/** Loads are the disk's when the devices delivered at least this share of the bytes read. */
export const DISK_SHARE = 0.5;

export const ADVICE_FOR: Readonly<Record<Bottleneck, string>> = {
  disk: 'put the model on a faster local SSD/NVMe, or read fewer bytes (a smaller dtype or compression; compression disables prefetch in RabbitLLM, so measure both)',
  'page-cache': 'the page cache served the loads, so each is a memory copy, not a disk read: --io mmap reads them in place (CPU), or read fewer bytes, or keep the layers in memory (--resident) if they fit; --cold (every step from the disk) measures what a model larger than RAM would read',
  copy: 'keep prefetch on so copies overlap loading; on CUDA use pinned memory and async transfer; store weights in the compute dtype so create_layer has nothing to convert',
  compute: 'faster attention and kernels (SDPA/Flash on GPU, SIMD kernels on CPU), more threads, or a smaller model; on small models the CPU can beat CUDA',
  'prefetch-stall': 'the compute thread waits for layers that should already be loaded: check that prefetch is on and overlapping (--no-prefetch vs default), and that nothing else competes for the disk',
  overhead: 'time goes outside the measured phases (sampling, embedding, scheduling): profile with more tokens per step or report it',
  'expert-load': 'keep more experts between tokens (a larger --expert-cache), read fewer bytes per expert (a smaller dtype), or put the model on a faster disk',
};

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

export function bottleneckVerdict({ totals: t, prefetch, resident, cache, bytesPerToken, quantized, deviceReadLimitMBps, io }: VerdictInput): Verdict {
  const wall = t.wall || 1;
  const load = t.phases.load_safe_tensor;
  const wait = t.phases.load_safe_tensor_cpu_wait;
  const create = t.phases.create_layer;
  const compute = t.phases.forward_per_layer + t.phases.kv_fill;
  const make = (bottleneck: Bottleneck, share: number, what: string): Verdict => {
    const base = bottleneck === 'page-cache' && io === 'mmap' ? MAPPED_PAGE_CACHE : ADVICE_FOR[bottleneck];
    const advice = bottleneck === 'disk' || bottleneck === 'page-cache' ? `${base}${fewerBytes(bytesPerToken, quantized)}` : base;
    const rate = bottleneck === 'disk' ? diskRate(t, deviceReadLimitMBps) : '';
    return { bottleneck, share, line: `${what}${rate} → ${advice}`, advice };
  };
  const [loadBound, loadWhat] = loadSource(t, cache);

  if (t.unaccounted / wall > OVERHEAD_SHARE) {
    return make('overhead', t.unaccounted / wall, `overhead-bound: ${pct(t.unaccounted / wall)} of wall time is outside the measured phases`);
  }
  if (prefetch && !resident && wait / wall > STALL_SHARE) {
    // Waiting is expected when reading takes longer than computing: then the disk is the limit.
    if (load > computeNs(t)) {
      return make(loadBound, wait / wall, `${loadWhat}: prefetch waits ${pct(wait / wall)} of wall time because loading (${ms(load)}) takes longer than compute (${ms(computeNs(t))})`);
    }
    return make('prefetch-stall', wait / wall, `prefetch is not overlapping: the compute thread waits ${pct(wait / wall)} of wall time although loads (${ms(load)}) are shorter than compute (${ms(computeNs(t))})`);
  }
  const foregroundLoad = load - t.backgroundLoad;
  const candidates: [Bottleneck, number, string][] = [
    [loadBound, (foregroundLoad + wait) / wall, `${loadWhat}: load_safe_tensor`],
    ['copy', create / wall, 'copy-bound: create_layer'],
    ['compute', compute / wall, 'compute-bound: forward_per_layer'],
  ];
  const [bottleneck, share, what] = candidates.reduce((a, b) => (b[1] > a[1] ? b : a));
  const hint = bottleneck === loadBound && !prefetch ? ' (prefetch is off: turning it on hides loads behind compute)' : '';
  return make(bottleneck, share, `${what} takes ${pct(share)} of wall time${hint}`);
}

/**
 * Who served the loads: the devices when they delivered most of the bytes read, else the page
 * cache, whatever --cold asked for (a cold-run profile reads the disk in its first step only).
 * Where the kernel does not count device bytes, --cold is taken at its word, and the line says so.
 */
function loadSource(t: PhaseTotals, cache: CacheMode): [Bottleneck, string] {
  const share = deviceShare(t);
  if (share === null) {
    return cache === 'warm' ? ['page-cache', 'page-cache copy-bound (device bytes not counted here; assumed from the warm cache)']
      : ['disk', 'disk-bound (device bytes not counted here; assumed from --cold)'];
  }
  return share >= DISK_SHARE ? ['disk', `disk-bound (the disk delivered ${pct(share)} of the bytes read)`]
    : ['page-cache', `page-cache copy-bound (the page cache served ${pct(1 - share)} of the bytes read)`];
}

/** The loads' read rate beside the disk's measured limit: how much a faster disk, or reading better, could give. */
function diskRate(t: PhaseTotals, limit: number | undefined): string {
  const load = t.phases.load_safe_tensor;
  if (load <= 0) return '';
  const rate = t.bytesRead / 1e6 / (load / 1e9);
  const of = limit ? `, ${pct(rate / limit)} of the ${limit.toFixed(0)} MB/s env measured for this disk` : '';
  return `; loads read ${rate.toFixed(0)} MB/s${of}`;
}

/** How many bytes a token would read in each smaller type `rabbit-bench quantize` writes. */
function fewerBytes(now: number | undefined, quantized: readonly MixEstimate[] | undefined): string {
  if (!now || !quantized) return '';
  const smaller = quantized.filter((q) => q.bytes < 0.95 * now);
  if (smaller.length === 0) return '';
  const each = smaller.map((q) => `${q.type} ${mib(q.bytes)} (${(q.bytes / now).toFixed(2)}x)`).join(', ');
  return `; rabbit-bench quantize --type T --out FILE.gguf cuts the ${mib(now)} a token reads to: ${each}`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(1)} ms`;
}
