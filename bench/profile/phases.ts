// The profiler's phases and how one run's step records add up into them.
import type { StepRecord, UnitRecord } from '../engine/records.js';

export const PHASES = ['load_safe_tensor', 'load_safe_tensor_cpu_wait', 'create_layer', 'forward_per_layer', 'kv_fill'] as const;
export type Phase = (typeof PHASES)[number];

export const PHASE_FIELD: Record<Phase, keyof Pick<UnitRecord, 'loadNs' | 'cpuWaitNs' | 'createNs' | 'forwardNs' | 'kvFillNs'>> = {
  load_safe_tensor: 'loadNs',
  load_safe_tensor_cpu_wait: 'cpuWaitNs',
  create_layer: 'createNs',
  forward_per_layer: 'forwardNs',
  kv_fill: 'kvFillNs',
};

/**
 * A unit's time in one phase of one step. A sparse layer's experts count in it: their reads (on
 * the compute thread, or ahead on the prefetch thread), the wait for those read ahead, and their
 * create_layer, all of which the layer's forward_per_layer leaves out.
 */
export function unitPhaseNs(u: UnitRecord, phase: Phase): number {
  const own = u[PHASE_FIELD[phase]];
  if (!u.experts) return own;
  if (phase === 'load_safe_tensor') return own + u.experts.loadNs + u.experts.prefetchLoadNs;
  if (phase === 'load_safe_tensor_cpu_wait') return own + u.experts.waitNs;
  if (phase === 'create_layer') return own + u.experts.createNs;
  return own;
}

/** A unit's load time in one step that ran on a prefetch thread, overlapping compute. */
export function unitBackgroundLoadNs(u: UnitRecord): number {
  return (u.loadInBackground ? u.loadNs : 0) + (u.experts?.prefetchLoadNs ?? 0);
}

/** Bytes a unit read in one step, its experts' included. */
export function unitBytesRead(u: UnitRecord): number {
  return u.bytesRead + (u.experts?.bytesRead ?? 0);
}

/** Nanosecond totals of one run (or one step), as the phase table shows them. */
export interface PhaseTotals {
  phases: Record<Phase, number>;
  /** Choosing the next token from the logits. */
  sampling: number;
  /** Loads that ran on the prefetch thread, overlapping compute: not part of the wall-time split. */
  backgroundLoad: number;
  /** Wall time less everything measured in the foreground. Never negative. */
  unaccounted: number;
  wall: number;
  bytesRead: number;
  /** Bytes the storage devices delivered over the same steps; null when any step could not say. */
  deviceBytesRead: number | null;
}

function emptyPhases(): Record<Phase, number> {
  return { load_safe_tensor: 0, load_safe_tensor_cpu_wait: 0, create_layer: 0, forward_per_layer: 0, kv_fill: 0 };
}

export function stepTotals(steps: readonly StepRecord[]): PhaseTotals {
  const phases = emptyPhases();
  let sampling = 0;
  let backgroundLoad = 0;
  let wall = 0;
  let bytesRead = 0;
  let deviceBytesRead: number | null = 0;
  for (const step of steps) {
    deviceBytesRead = deviceBytesRead === null || step.deviceBytesRead === null ? null : deviceBytesRead + step.deviceBytesRead;
    wall += step.wallNs + step.sampleNs;
    sampling += step.sampleNs;
    for (const u of step.units) {
      for (const p of PHASES) phases[p] += unitPhaseNs(u, p);
      backgroundLoad += unitBackgroundLoadNs(u);
      bytesRead += unitBytesRead(u);
    }
  }
  const foreground = phases.load_safe_tensor - backgroundLoad + phases.load_safe_tensor_cpu_wait + phases.create_layer +
    phases.forward_per_layer + phases.kv_fill + sampling;
  return { phases, sampling, backgroundLoad, unaccounted: Math.max(0, wall - foreground), wall, bytesRead, deviceBytesRead };
}

/**
 * The share of the bytes the engine read that the storage devices delivered, 0..1; null when the
 * kernel does not count device bytes or nothing was read. Readahead past what a step uses can make
 * the device deliver more than was read: that counts as all of it.
 */
export function deviceShare(t: Pick<PhaseTotals, 'bytesRead' | 'deviceBytesRead'>): number | null {
  if (t.deviceBytesRead === null || t.bytesRead === 0) return null;
  return Math.min(1, t.deviceBytesRead / t.bytesRead);
}

/** Work the compute thread itself does on the weights (what prefetch should hide the loads behind). */
export function computeNs(t: PhaseTotals): number {
  return t.phases.create_layer + t.phases.forward_per_layer + t.phases.kv_fill;
}

/** max(Σload, Σcompute) / wall: 1 when loads hide perfectly behind compute (or vice versa). */
export function overlapEfficiency(t: PhaseTotals): number {
  return t.wall > 0 ? Math.max(t.phases.load_safe_tensor, computeNs(t)) / t.wall : 0;
}
