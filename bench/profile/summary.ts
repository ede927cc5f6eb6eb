// Statistics across the measured runs of a profile: the numbers every table prints.
import { summarizeSteps } from '../engine/summary.js';
import type { IoMode } from '../engine/native.js';
import type { StepRecord } from '../engine/records.js';
import { median, summarize } from '../stats.js';
import type { MixEstimate } from '../quantize/estimate.js';
import type { CacheMode, LayerStats, PhaseStats, ProfileSummary } from '../results/profile-schema.js';
import { deviceShare, overlapEfficiency, PHASES, stepTotals, unitBytesRead, unitPhaseNs, type Phase, type PhaseTotals } from './phases.js';
import { expertNs, expertStats, expertVerdict } from './experts.js';
import type { UnitFacts } from './units.js';
import type { MoeSpec } from '../model/types.js';
import { bottleneckVerdict } from './verdict.js';

export const PHASE_ROWS = [...PHASES, 'sampling', 'unaccounted'] as const;
export type PhaseRow = (typeof PHASE_ROWS)[number];

/** The summary's types follow from its schema, which the result file validates on read. */
export type { LayerStats, PhaseStats, ProfileSummary };

const toMs = (ns: number) => ns / 1e6;

function phaseValue(t: PhaseTotals, row: PhaseRow): number {
  if (row === 'sampling') return t.sampling;
  if (row === 'unaccounted') return t.unaccounted;
  return t.phases[row];
}

/** The steps the per-unit medians are taken over: every decode step, or the prefills when there are none. */
function perUnitSteps(runs: readonly StepRecord[][]): StepRecord[] {
  const decode = runs.flatMap((steps) => steps.filter((s) => s.kind === 'decode'));
  return decode.length > 0 ? decode : runs.flatMap((s) => s);
}

/** Median bytes a step read, all units and each unit by name, over the steps the per-unit medians are taken over. */
export function bytesPerStep(runs: readonly StepRecord[][]): { total: number; units: Record<string, number> } {
  const steps = perUnitSteps(runs);
  return {
    total: median(steps.map((s) => s.units.reduce((a, u) => a + unitBytesRead(u), 0))),
    units: Object.fromEntries(steps[0].units.map((u, i) => [u.name, median(steps.map((s) => unitBytesRead(s.units[i])))])),
  };
}

function layerStats(runs: readonly StepRecord[][], units: readonly UnitFacts[], bytes: ReturnType<typeof bytesPerStep>): LayerStats[] {
  const steps = perUnitSteps(runs);
  const names = steps[0].units.map((u) => u.name);
  return names.map((name, i) => {
    const m = (phase: Phase) => toMs(median(steps.map((s) => unitPhaseNs(s.units[i], phase))));
    const facts = units.find((u) => u.name === name);
    const row = {
      name,
      load_ms: m('load_safe_tensor'),
      cpu_wait_ms: m('load_safe_tensor_cpu_wait'),
      create_ms: m('create_layer'),
      forward_ms: m('forward_per_layer'),
      kv_fill_ms: m('kv_fill'),
    };
    return {
      ...row,
      total_ms: row.load_ms + row.cpu_wait_ms + row.create_ms + row.forward_ms + row.kv_fill_ms,
      unit_bytes: facts?.bytes ?? 0,
      bytes_per_decode_step: bytes.units[name],
      dtypes: facts?.dtypes ?? {},
    };
  });
}

/** The decoder layers' and lm_head's bytes by type (the embedding is read one row per token). */
function decodeDtypes(units: readonly UnitFacts[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const u of units.filter((x) => x.name !== 'embed')) for (const [t, b] of Object.entries(u.dtypes)) out[t] = (out[t] ?? 0) + b;
  return out;
}

export interface SummaryOptions {
  prefetch: boolean;
  resident: boolean;
  cache: CacheMode;
  io?: IoMode;
  /** The disk's measured limit (env), MB/s, which the verdict compares disk-bound loads with. */
  deviceReadLimitMBps?: number | null;
  /** The model's units in the engine's order (from the load plan). */
  units: readonly UnitFacts[];
  /** What a decode token would read in smaller GGUF types, for the verdict's advice. */
  quantized: readonly MixEstimate[];
  /** Mixture-of-experts models: the routing, one expert's bytes and the expert cache (null: resident, unbounded). */
  moe?: { spec: MoeSpec; expertBytes: number; cacheBytes: number | null } | null;
}

/** The run whose wall time is closest to the median: the one the verdict (and the step chart) judges. */
export function typicalRunIndex(totals: readonly PhaseTotals[]): number {
  const mid = median(totals.map((t) => t.wall));
  return totals.reduce((best, t, i) => (Math.abs(t.wall - mid) < Math.abs(totals[best].wall - mid) ? i : best), 0);
}

export function summarizeProfile(measured: readonly StepRecord[][], opts: SummaryOptions): ProfileSummary {
  if (measured.length === 0) throw new Error('no measured runs to summarise');
  const totals = measured.map((steps) => stepTotals(steps));
  const phases = Object.fromEntries(
    PHASE_ROWS.map((row) => {
      const values = totals.map((t) => toMs(phaseValue(t, row)));
      const share = median(totals.map((t) => (t.wall > 0 ? phaseValue(t, row) / t.wall : 0)));
      return [row, { ...summarize(values), share }];
    }),
  ) as Record<PhaseRow, PhaseStats>;

  const timings = measured.map((steps) => summarizeSteps(steps, steps.length));
  const bytes = bytesPerStep(measured);
  const decodeSteps = measured[0].filter((s) => s.kind === 'decode').length;
  const deviceShares = totals.map(deviceShare);
  const readRates = totals.filter((t) => t.phases.load_safe_tensor > 0).map((t) => t.bytesRead / 1e6 / (t.phases.load_safe_tensor / 1e9));

  // The verdict judges the median run, so one noisy run cannot flip it.
  const typicalRun = typicalRunIndex(totals);
  const typical = totals[typicalRun];
  const experts = opts.moe ? expertStats(measured, opts.moe.spec, opts.units, opts.moe.expertBytes, opts.moe.cacheBytes) : null;
  const verdict = bottleneckVerdict({
    totals: typical,
    prefetch: opts.prefetch,
    resident: opts.resident,
    cache: opts.cache,
    io: opts.io,
    deviceReadLimitMBps: opts.deviceReadLimitMBps ?? undefined,
    bytesPerToken: decodeWeightBytes(opts.units),
    quantized: opts.quantized,
  });
  return {
    cache: opts.cache,
    measured_runs: measured.length,
    phases,
    wall_ms: summarize(totals.map((t) => toMs(t.wall))),
    background_load: totals.some((t) => t.backgroundLoad > 0),
    prefill: { tokens: timings[0].prompt_tokens, ttft_ms: summarize(timings.map((t) => t.ttft_ms)) },
    decode: {
      steps: decodeSteps,
      tok_per_s: decodeSteps > 0 ? summarize(timings.map((t) => t.decode_tokens_per_s ?? 0)) : null,
      ms_per_token: decodeSteps > 0 ? summarize(timings.map((t) => t.ms_per_token ?? 0)) : null,
    },
    layers: layerStats(measured, opts.units, bytes),
    bytes_per_decode_step: bytes.total,
    dtypes: decodeDtypes(opts.units),
    bytes_read: summarize(totals.map((t) => t.bytesRead)),
    device_bytes_read: totals.every((t) => t.deviceBytesRead !== null) ? summarize(totals.map((t) => t.deviceBytesRead!)) : null,
    page_cache_share: deviceShares.every((s) => s !== null) ? median(deviceShares.map((s) => 1 - s!)) : null,
    read_mb_per_s: readRates.length > 0 ? summarize(readRates) : null,
    device_read_limit_mb_per_s: opts.deviceReadLimitMBps ?? null,
    overlap_efficiency: summarize(totals.map(overlapEfficiency)),
    peak_rss_bytes: Math.max(...measured.flatMap((steps) => steps.map((s) => s.peakRssBytes))),
    experts,
    verdict: experts ? expertVerdict(verdict, typical, experts, expertNs(measured[typicalRun])) : verdict,
  };
}

/** Weight bytes a decode token reads: every unit but the embedding (of which it reads one row). */
function decodeWeightBytes(units: readonly UnitFacts[]): number {
  return units.filter((u) => u.name !== 'embed').reduce((a, u) => a + u.bytes, 0);
}
