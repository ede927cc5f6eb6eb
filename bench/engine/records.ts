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
