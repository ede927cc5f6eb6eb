// Timing records as the engine returns them: one per forward pass (step), one per unit within.

export interface UnitRecord {
  /** "embed", "layers.N" or "lm_head". */
  name: string;
  loadNs: number;
  bytesRead: number;
  cpuWaitNs: number;
  createNs: number;
  /** Excludes kvFillNs, so foreground phases never add up to more than the step's wall time. */
  forwardNs: number;
  kvFillNs: number;
  /** True when the prefetch thread read this unit while compute went on. */
  loadInBackground: boolean;
  /**
   * A sparse (mixture-of-experts) layer's routed experts in this step. Their reads and
   * create_layer ran on the compute thread inside the layer's forward, and are not in forwardNs.
   */
  experts?: ExpertRecord;
}

export interface ExpertRecord {
  /** The experts the step's tokens routed to, ascending. */
  used: number[];
  /** Read from disk for this step, by the compute thread or ahead by the prefetch thread. */
  loaded: number;
  /** Of `loaded`, read ahead by the prefetch thread. */
  prefetched: number;
  /** Already in memory: the expert cache, or (whole-layer streaming) the layer's own unit. */
  cached: number;
  /** Experts the prefetcher guessed for this layer and step (the previous token's), and how many the router picked. */
  guessed: number;
  guessedUsed: number;
  bytesRead: number;
  /** Reads on the compute thread. */
  loadNs: number;
  /** Reads on the prefetch thread of the experts used, overlapping compute. */
  prefetchLoadNs: number;
  /** The compute thread waiting for the prefetch thread's reads. */
  waitNs: number;
  createNs: number;
}

export interface StepRecord {
  kind: 'prefill' | 'decode';
  tokens: number;
  position: number;
  wallNs: number;
  sampleNs: number;
  peakRssBytes: number;
  /**
   * Bytes the process had read from storage devices since the previous step ended (the prefetch
   * thread's reads ahead included); the rest of the units' bytesRead came from the page cache.
   * null where the kernel does not count them.
   */
  deviceBytesRead: number | null;
  units: UnitRecord[];
  /** When the step began, from the generation's start (the engine's steady clock); result files do not keep it. */
  startNs?: number;
  /** With GenerateOptions.trace: what ran when, and on which thread, sampling included. */
  spans?: TraceSpan[];
}

/** The phases the trace shows: the profile's phases, and sampling. */
export type TracePhase = 'load_safe_tensor' | 'load_safe_tensor_cpu_wait' | 'create_layer' | 'forward_per_layer' | 'kv_fill' | 'sampling';
/** The thread a span ran on: compute, the units' prefetch thread, or the experts' prefetch thread. */
export type TraceLane = 'compute' | 'prefetch' | 'expert_prefetch' | 'device_copy' | 'device_compute';

/**
 * One phase of one unit, on the thread that really ran it. forward_per_layer spans the unit's
 * whole forward: kv_fill, and a sparse layer's expert reads and create_layer, lie within it.
 */
export interface TraceSpan {
  phase: TracePhase;
  lane: TraceLane;
  /** From the generation's start. */
  startNs: number;
  durNs: number;
  /** Index in the step's units (0 = embed); -1 for sampling. */
  unit: number;
  /** A routed expert's spans. */
  expert?: number;
  bytes?: number;
  /** false: a read ahead that the router did not then pick. */
  used?: boolean;
}

export interface NativeGenerateResult {
  tokens: number[];
  logits: Float32Array[];
  steps: StepRecord[];
  stopReason: 'max_new_tokens' | 'eos';
}
