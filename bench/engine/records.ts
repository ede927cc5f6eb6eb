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
  /** Read from disk for this step. */
  loaded: number;
  /** Already in memory: the expert cache, or (whole-layer streaming) the layer's own unit. */
  cached: number;
  bytesRead: number;
  loadNs: number;
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
}

export interface NativeGenerateResult {
  tokens: number[];
  logits: Float32Array[];
  steps: StepRecord[];
  stopReason: 'max_new_tokens' | 'eos';
}
