// What a mixture-of-experts model's experts cost, from the step records: how many each decode
// token uses and reads, how often the cache had them, what they weigh against whole-layer
// streaming, and the cache size that would hold what the run used.
import { z } from 'zod';
import type { ExpertRecord, StepRecord } from '../engine/records.js';
import type { MoeSpec } from '../model/types.js';
import { median } from '../stats.js';
import { unitBytesRead, type PhaseTotals } from './phases.js';
import type { UnitFacts } from './units.js';
import { ADVICE_FOR, type Verdict } from './verdict.js';

const count = z.number().int().nonnegative();
const nonNegative = z.number().nonnegative();

export const ExpertStatsSchema = z.object({
  /** Experts were read one by one as routed; false: whole layers with every expert (--no-expert-streaming). */
  streaming: z.boolean(),
  num_experts: count,
  top_k: count,
  sparse_layers: count,
  /** Bytes of one routed expert (its gate, up and down matrices). */
  expert_bytes: nonNegative,
  /** Medians over the measured decode steps (the prefills when there are none), summed over the sparse layers. */
  used_per_step: nonNegative,
  loaded_per_step: nonNegative,
  /** Of the experts the steps used, the share already in memory; null under whole-layer streaming. */
  cache_hit_rate: nonNegative.nullable(),
  /**
   * Of the experts a decode token used in a layer, the share the same layer used for the token
   * before: how often "the previous token's experts" is the right guess. null without two decode steps.
   */
  repeat_rate: nonNegative.nullable(),
  /** Of the experts read, the share the prefetch thread read ahead; null when none were read. */
  prefetched_share: nonNegative.nullable(),
  /**
   * Of the experts the prefetcher guessed (each sparse layer's experts of the previous token), the
   * share the router picked; null when it made no guess (--no-prefetch, resident, whole layers).
   */
  prefetch_accuracy: nonNegative.nullable(),
  /** Median ms per step: expert reads on the compute thread, on the prefetch thread, the compute thread's wait for the latter, and create_layer. */
  load_ms_per_step: nonNegative,
  prefetch_load_ms_per_step: nonNegative,
  wait_ms_per_step: nonNegative,
  create_ms_per_step: nonNegative,
  /** Median ms to read one expert (either thread); null when no step read one. */
  load_ms_per_expert: nonNegative.nullable(),
  /** Median bytes a step read, all units; and what whole-layer streaming reads (every unit's bytes but the embedding's rows). */
  bytes_per_step: nonNegative,
  whole_layer_bytes_per_step: nonNegative,
  /** The largest share of a sparse layer's bytes (all its experts) that a step read for it. */
  max_layer_read_share: nonNegative,
  /** Bytes of the distinct experts the measured steps used (median over runs): the cache that would hold them all. */
  working_set_bytes: nonNegative,
  /** The expert cache of the run (bytes; null: resident, unbounded). */
  cache_bytes: nonNegative.nullable(),
});
export type ExpertStats = z.infer<typeof ExpertStatsSchema>;

const layerIndex = (name: string): number => Number(/^layers\.(\d+)$/.exec(name)?.[1] ?? -1);

function stepsOf(runs: readonly StepRecord[][]): StepRecord[][] {
  const decode = runs.map((steps) => steps.filter((s) => s.kind === 'decode'));
  return decode.some((steps) => steps.length > 0) ? decode : runs.map((steps) => [...steps]);
}

/** The sparse layers' expert records of one step, by layer index. */
function expertsOf(step: StepRecord): Map<number, ExpertRecord> {
  const out = new Map<number, ExpertRecord>();
  for (const u of step.units) if (u.experts) out.set(layerIndex(u.name), u.experts);
  return out;
}

export function expertStats(
  runs: readonly StepRecord[][],
  moe: MoeSpec,
  units: readonly UnitFacts[],
  expertBytes: number,
  cacheBytes: number | null,
): ExpertStats {
  const perRun = stepsOf(runs);
  const steps = perRun.flat();
  const sum = (step: StepRecord, f: (e: ExpertRecord) => number) => [...expertsOf(step).values()].reduce((a, e) => a + f(e), 0);
  const used = steps.map((s) => sum(s, (e) => e.used.length));
  const cached = steps.reduce((a, s) => a + sum(s, (e) => e.cached), 0);
  const totalUsed = used.reduce((a, b) => a + b, 0);
  const loaded = steps.reduce((a, s) => a + sum(s, (e) => e.loaded), 0);
  const prefetched = steps.reduce((a, s) => a + sum(s, (e) => e.prefetched), 0);
  const guessed = steps.reduce((a, s) => a + sum(s, (e) => e.guessed), 0);
  const guessedUsed = steps.reduce((a, s) => a + sum(s, (e) => e.guessedUsed), 0);
  const streaming = steps.some((s) => [...expertsOf(s).values()].some((e) => e.loaded > 0)) || cached < totalUsed;

  let repeated = 0;
  let compared = 0;
  for (const run of perRun) {
    for (let i = 1; i < run.length; i++) {
      const before = expertsOf(run[i - 1]);
      for (const [layer, e] of expertsOf(run[i])) {
        const previous = new Set(before.get(layer)?.used ?? []);
        repeated += e.used.filter((x) => previous.has(x)).length;
        compared += e.used.length;
      }
    }
  }

  const perExpert = steps.flatMap((s) => [...expertsOf(s).values()].filter((e) => e.loaded > 0).map((e) => (e.loadNs + e.prefetchLoadNs) / e.loaded / 1e6));
  const layerShares = moe.sparseLayers.map((layer) => {
    const bytes = units.find((u) => u.name === `layers.${layer}`)?.bytes ?? 0;
    const read = median(steps.map((s) => unitBytesRead(s.units.find((u) => u.name === `layers.${layer}`)!)));
    return bytes > 0 ? read / bytes : 0;
  });
  const workingSets = perRun.map((run) => {
    const distinct = new Map<number, Set<number>>();
    for (const step of run) {
      for (const [layer, e] of expertsOf(step)) {
        const set = distinct.get(layer) ?? new Set<number>();
        for (const x of e.used) set.add(x);
        distinct.set(layer, set);
      }
    }
    return [...distinct.values()].reduce((a, set) => a + set.size, 0) * expertBytes;
  });

  return {
    streaming,
    num_experts: moe.numExperts,
    top_k: moe.topK,
    sparse_layers: moe.sparseLayers.length,
    expert_bytes: expertBytes,
    used_per_step: median(used),
    loaded_per_step: median(steps.map((s) => sum(s, (e) => e.loaded))),
    cache_hit_rate: streaming && totalUsed > 0 ? cached / totalUsed : null,
    repeat_rate: compared > 0 ? repeated / compared : null,
    prefetched_share: loaded > 0 ? prefetched / loaded : null,
    prefetch_accuracy: guessed > 0 ? guessedUsed / guessed : null,
    load_ms_per_step: median(steps.map((s) => sum(s, (e) => e.loadNs))) / 1e6,
    prefetch_load_ms_per_step: median(steps.map((s) => sum(s, (e) => e.prefetchLoadNs))) / 1e6,
    wait_ms_per_step: median(steps.map((s) => sum(s, (e) => e.waitNs))) / 1e6,
    create_ms_per_step: median(steps.map((s) => sum(s, (e) => e.createNs))) / 1e6,
    load_ms_per_expert: loaded > 0 ? median(perExpert) : null,
    bytes_per_step: median(steps.map((s) => s.units.reduce((a, u) => a + unitBytesRead(u), 0))),
    whole_layer_bytes_per_step: units.filter((u) => u.name !== 'embed').reduce((a, u) => a + u.bytes, 0),
    max_layer_read_share: Math.max(0, ...layerShares),
    working_set_bytes: median(workingSets),
    cache_bytes: cacheBytes,
  };
}

/** Expert reads above this share of the foreground load and create time make the verdict MoE's. */
const EXPERT_SHARE_OF_LOADS = 0.5;

/**
 * Advice when the cache holds every expert the run used: what is left are first reads, since a
 * streamed generation starts with an empty expert cache.
 */
const FIRST_USE_ADVICE =
  'every generation reads each expert it uses once (a streamed generation starts with an empty expert cache, and the prefill reads every expert its tokens route to): longer generations spread that cost, --resident keeps every expert read across generations, and a smaller dtype or a faster disk makes the first reads cheaper';

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;

/**
 * The verdict of a mixture-of-experts profile: when reading experts is most of what the loads
 * cost, say so with the cache's hit rate and the cache that would hold what the run used; else
 * the verdict stands, with what the experts cost beside it.
 * `expertNs`: the judged run's expert time on the compute thread (see expertNs).
 */
export function expertVerdict(base: Verdict, t: PhaseTotals, s: ExpertStats, expertNs: number): Verdict {
  const loadBound = base.bottleneck === 'disk' || base.bottleneck === 'page-cache' || base.bottleneck === 'copy' || base.bottleneck === 'prefetch-stall';
  const foreground = t.phases.load_safe_tensor - t.backgroundLoad + t.phases.load_safe_tensor_cpu_wait + t.phases.create_layer;
  const hit = s.cache_hit_rate === null ? 'n/a' : `${(100 * s.cache_hit_rate).toFixed(0)}%`;
  const guess = s.prefetch_accuracy === null ? '' : `, prefetch guessed ${(100 * s.prefetch_accuracy).toFixed(0)}% right`;
  const bytes = `${MiB(s.bytes_per_step)} read per step of ${MiB(s.whole_layer_bytes_per_step)} for whole layers`;
  const fits = s.cache_bytes !== null && s.cache_bytes >= s.working_set_bytes;
  const cache = fits
    ? `the cache (${MiB(s.cache_bytes!)}) already holds the run's working set of ${MiB(s.working_set_bytes)}: the misses are experts used for the first time`
    : `a cache of ${Math.ceil(s.working_set_bytes / 2 ** 20)} MiB would hold the working set (--expert-cache ${Math.ceil(s.working_set_bytes / 2 ** 20)})`;
  if (!loadBound || !s.streaming || foreground <= 0 || expertNs / foreground < EXPERT_SHARE_OF_LOADS) {
    // Not the experts' fault: the verdict stands, with what the experts cost beside it.
    const what = s.streaming ? `cache hit rate ${hit}${guess}, ${bytes}` : `whole layers, ${bytes}: expert streaming (the default) reads only the routed experts`;
    return { ...base, line: `${base.line} · experts: ${what}` };
  }
  const share = expertNs / (t.wall || 1);
  const line = `expert-load-bound: reading experts takes ${(100 * share).toFixed(0)}% of wall time, cache hit rate ${hit}${guess}, ${bytes}; ${cache}`;
  const advice = fits ? FIRST_USE_ADVICE : ADVICE_FOR['expert-load'];
  return { bottleneck: 'expert-load', share, line: `${line} → ${advice}`, advice };
}

/** A run's expert time on the compute thread: reads, waits for the prefetch thread, create_layer. */
export function expertNs(steps: readonly StepRecord[]): number {
  const own = (e: ExpertRecord) => e.loadNs + e.waitNs + e.createNs;
  return steps.reduce((a, step) => a + step.units.reduce((b, u) => b + (u.experts ? own(u.experts) : 0), 0), 0);
}
