// Statistics across the measured runs of a profile: the numbers every table prints.
import type { StepRecord } from '../engine/records.js';
import { median, summarize, type Summary } from '../stats.js';
import { overlapEfficiency, PHASE_FIELD, PHASES, stepTotals, type Phase, type PhaseTotals } from './phases.js';
import { bottleneckVerdict, type Verdict } from './verdict.js';

export type PhaseRow = Phase | 'sampling' | 'unaccounted';
export const PHASE_ROWS: readonly PhaseRow[] = [...PHASES, 'sampling', 'unaccounted'];

export interface PhaseStats extends Summary {
  /** Median share of the run's wall time, 0..1. Background loads overlap, so shares can exceed 1 in sum. */
  share: number;
}

export interface LayerStats {
  name: string;
  /** Median per step, in ms, over every measured decode step (or the prefill when there is none). */
  load_ms: number;
  cpu_wait_ms: number;
  create_ms: number;
  forward_ms: number;
  kv_fill_ms: number;
  total_ms: number;
}

export interface ProfileSummary {
  cache: 'warm' | 'cold';
  measured_runs: number;
  /** Milliseconds per run (all steps of the run summed). */
  phases: Record<PhaseRow, PhaseStats>;
  wall_ms: Summary;
  background_load: boolean;
  prefill: { tokens: number; ttft_ms: Summary };
  decode: { steps: number; tok_per_s: Summary | null; ms_per_token: Summary | null };
  layers: LayerStats[];
  bytes_read: Summary;
  read_mb_per_s: Summary | null;
  overlap_efficiency: Summary;
  peak_rss_bytes: number;
  verdict: Verdict;
}

const toMs = (ns: number) => ns / 1e6;

function phaseValue(t: PhaseTotals, row: PhaseRow): number {
  if (row === 'sampling') return t.sampling;
  if (row === 'unaccounted') return t.unaccounted;
  return t.phases[row];
}

function layerStats(runs: readonly StepRecord[][]): LayerStats[] {
  const decode = runs.flatMap((steps) => steps.filter((s) => s.kind === 'decode'));
  const steps = decode.length > 0 ? decode : runs.flatMap((s) => s);
  const names = steps[0].units.map((u) => u.name);
  return names.map((name, i) => {
    const m = (field: (typeof PHASE_FIELD)[Phase]) => toMs(median(steps.map((s) => s.units[i][field])));
    const row = {
      name,
      load_ms: m('loadNs'),
      cpu_wait_ms: m('cpuWaitNs'),
      create_ms: m('createNs'),
      forward_ms: m('forwardNs'),
      kv_fill_ms: m('kvFillNs'),
    };
    return { ...row, total_ms: row.load_ms + row.cpu_wait_ms + row.create_ms + row.forward_ms + row.kv_fill_ms };
  });
}

export function summarizeProfile(
  measured: readonly StepRecord[][],
  opts: { prefetch: boolean; resident: boolean; cold: boolean },
): ProfileSummary {
  if (measured.length === 0) throw new Error('no measured runs to summarise');
  const totals = measured.map((steps) => stepTotals(steps));
  const phases = Object.fromEntries(
    PHASE_ROWS.map((row) => {
      const values = totals.map((t) => toMs(phaseValue(t, row)));
      const share = median(totals.map((t) => (t.wall > 0 ? phaseValue(t, row) / t.wall : 0)));
      return [row, { ...summarize(values), share }];
    }),
  ) as Record<PhaseRow, PhaseStats>;

  const prefills = measured.map((steps) => steps.find((s) => s.kind === 'prefill')!);
  const decodeRuns = measured.map((steps) => steps.filter((s) => s.kind === 'decode'));
  const decodeNs = decodeRuns.map((steps) => steps.reduce((a, s) => a + s.wallNs + s.sampleNs, 0));
  const decodeSteps = decodeRuns[0].length;
  const readRates = totals.filter((t) => t.phases.load_safe_tensor > 0).map((t) => t.bytesRead / 1e6 / (t.phases.load_safe_tensor / 1e9));

  // The verdict judges the median run, so one noisy run cannot flip it.
  const medianWall = median(totals.map((t) => t.wall));
  const typical = totals.reduce((a, b) => (Math.abs(b.wall - medianWall) < Math.abs(a.wall - medianWall) ? b : a));
  return {
    cache: opts.cold ? 'cold' : 'warm',
    measured_runs: measured.length,
    phases,
    wall_ms: summarize(totals.map((t) => toMs(t.wall))),
    background_load: totals.some((t) => t.backgroundLoad > 0),
    prefill: { tokens: prefills[0].tokens, ttft_ms: summarize(prefills.map((s) => toMs(s.wallNs + s.sampleNs))) },
    decode: {
      steps: decodeSteps,
      tok_per_s: decodeSteps > 0 ? summarize(decodeNs.map((ns) => decodeSteps / (ns / 1e9))) : null,
      ms_per_token: decodeSteps > 0 ? summarize(decodeNs.map((ns) => toMs(ns) / decodeSteps)) : null,
    },
    layers: layerStats(measured),
    bytes_read: summarize(totals.map((t) => t.bytesRead)),
    read_mb_per_s: readRates.length > 0 ? summarize(readRates) : null,
    overlap_efficiency: summarize(totals.map(overlapEfficiency)),
    peak_rss_bytes: Math.max(...measured.flatMap((steps) => steps.map((s) => s.peakRssBytes))),
    verdict: bottleneckVerdict({ totals: typical, prefetch: opts.prefetch, resident: opts.resident }),
  };
}
