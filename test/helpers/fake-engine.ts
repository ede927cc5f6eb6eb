// A stand-in for the native engine: step records made up from a described scenario (what a unit
// costs to load and to compute, whether loads run on the prefetch thread, the bytes each unit
// reads), so that measuring, summarising, reporting and the gate's loop run without the addon.
// Times are exact, so a test can say what the summary must show.
import type { GateEngine } from '../../bench/compare/gate-measure.js';
import type { GenerateOptions, GenerateResult } from '../../bench/engine/engine.js';
import type { StepRecord, TraceSpan, UnitRecord } from '../../bench/engine/records.js';

export interface FakeUnit {
  /** "embed", "layers.N" or "lm_head", in the engine's order. */
  name: string;
  /** Bytes the unit reads per step; per token of the step with `perToken` (the embedding reads one row per token). */
  bytes: number;
  perToken?: boolean;
  /** Multiplies the unit's times: a larger unit. Default 1. */
  weight?: number;
}

export interface Scenario {
  units: readonly FakeUnit[];
  /** Milliseconds per unit of weight 1 and step. */
  loadMs: number;
  forwardMs: number;
  createMs?: number;
  kvFillMs?: number;
  /** The prefill's forward per unit of weight 1; default forwardMs. */
  prefillForwardMs?: number;
  /**
   * Loads run on the prefetch thread while the previous unit computes (the first unit's while the
   * step before computes its last), and the compute thread waits for what is not loaded yet;
   * false: loads run on the compute thread, in the foreground.
   */
  background: boolean;
  /** Per step: choosing the next token, and time outside every measured phase. */
  sampleMs?: number;
  overheadMs?: number;
  /** Share of the bytes read that the storage devices delivered; null (default): the kernel does not count them. */
  deviceShare?: number | null;
  /** Multiplies every time of one generation; called once per generation (noise, drift, a slowdown). */
  scale?: () => number;
  /** The id generated at `index` (0, 1, ...) after `promptIds`; default a fixed function of both. */
  token?: (promptIds: readonly number[], index: number) => number;
  peakRssBytes?: number;
}

/** The fake's default output: the same for the same prompt, different for another. */
export const defaultToken = (promptIds: readonly number[], index: number): number =>
  (promptIds.reduce((a, b) => a + b, 0) * 7 + 31 * index) % 1000;

const nsOf = (ms: number) => Math.round(ms * 1e6);

export class FakeEngine implements GateEngine {
  readonly backend = 'fake';
  private cpu = 0;
  private closed = false;

  /** `log`, when given, hears `open NAME`, `generate NAME` and `close NAME`. */
  constructor(
    private readonly scenario: Scenario,
    private readonly o: { name?: string; log?: string[] } = {},
  ) {
    this.o.log?.push(`open ${this.name}`);
  }

  private get name(): string {
    return this.o.name ?? 'engine';
  }

  /** Process CPU time the scenario's work would take: every phase on either thread, waiting excluded. */
  cpuNs(): number {
    return this.cpu;
  }

  async generate(request: GenerateOptions, onToken?: (id: number) => void): Promise<GenerateResult> {
    if (this.closed) throw new Error('the engine is closed');
    if (!(request.maxNewTokens >= 1)) throw new Error('the fake engine generates at least one token');
    this.o.log?.push(`generate ${this.name}`);
    const s = this.scenario;
    const scale = s.scale?.() ?? 1;
    const token = s.token ?? defaultToken;
    const steps: StepRecord[] = [];
    const tokens: number[] = [];
    // The first unit's load ran before the first step, ahead of everything: the clock starts with it.
    let clock = s.background ? nsOf(s.loadMs * (s.units[0].weight ?? 1) * scale) : 0;
    for (let i = 0; i < request.maxNewTokens; i++) {
      const prefill = i === 0;
      const step = this.step(prefill ? 'prefill' : 'decode', prefill ? request.promptIds.length : 1,
        prefill ? 0 : request.promptIds.length + i - 1, scale, clock, request.trace ?? false);
      steps.push(step);
      clock += step.wallNs + step.sampleNs;
      const id = token(request.promptIds, i);
      tokens.push(id);
      onToken?.(id);
    }
    return { tokens, logits: [], steps, stopReason: 'max_new_tokens' };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.o.log?.push(`close ${this.name}`);
  }

  private step(kind: StepRecord['kind'], tokens: number, position: number, scale: number, startNs: number, trace: boolean): StepRecord {
    const s = this.scenario;
    const time = (ms: number | undefined, weight: number) => nsOf((ms ?? 0) * weight * scale);
    const costs = s.units.map((u) => {
      const w = u.weight ?? 1;
      return {
        load: time(s.loadMs, w),
        create: time(s.createMs, w),
        forward: time(kind === 'prefill' ? s.prefillForwardMs ?? s.forwardMs : s.forwardMs, w),
        kvFill: time(s.kvFillMs, w),
      };
    });
    const compute = (c: (typeof costs)[number]) => c.create + c.forward + c.kvFill;
    const spans: TraceSpan[] = [];
    const units: UnitRecord[] = [];
    let t = startNs;
    s.units.forEach((u, i) => {
      const c = costs[i];
      const before = costs[(i + costs.length - 1) % costs.length];
      const wait = s.background ? Math.max(0, c.load - compute(before)) : 0;
      const bytesRead = u.perToken ? u.bytes * tokens : u.bytes;
      if (s.background) {
        t += wait;
        if (wait > 0) spans.push({ phase: 'load_safe_tensor_cpu_wait', lane: 'compute', startNs: t - wait, durNs: wait, unit: i });
        spans.push({ phase: 'load_safe_tensor', lane: 'prefetch', startNs: t - c.load, durNs: c.load, unit: i, bytes: bytesRead });
      } else {
        spans.push({ phase: 'load_safe_tensor', lane: 'compute', startNs: t, durNs: c.load, unit: i, bytes: bytesRead });
        t += c.load;
      }
      spans.push({ phase: 'create_layer', lane: 'compute', startNs: t, durNs: c.create, unit: i });
      t += c.create;
      spans.push({ phase: 'forward_per_layer', lane: 'compute', startNs: t, durNs: c.forward + c.kvFill, unit: i });
      spans.push({ phase: 'kv_fill', lane: 'compute', startNs: t + c.forward, durNs: c.kvFill, unit: i });
      t += c.forward + c.kvFill;
      units.push({
        name: u.name, loadNs: c.load, bytesRead, cpuWaitNs: wait, createNs: c.create, forwardNs: c.forward, kvFillNs: c.kvFill,
        loadInBackground: s.background,
      });
    });
    const overhead = time(s.overheadMs, 1);
    const sample = time(s.sampleMs, 1);
    t += overhead;
    spans.push({ phase: 'sampling', lane: 'compute', startNs: t, durNs: sample, unit: -1 });
    this.cpu += costs.reduce((a, c) => a + c.load + compute(c), 0) + overhead + sample;
    const bytes = units.reduce((a, u) => a + u.bytesRead, 0);
    const share = s.deviceShare ?? null;
    return {
      kind, tokens, position, wallNs: t - startNs, sampleNs: sample, peakRssBytes: s.peakRssBytes ?? 256 * 2 ** 20,
      deviceBytesRead: share === null ? null : Math.round(share * bytes), units,
      ...(trace ? { startNs, spans: spans.filter((x) => x.durNs > 0) } : {}),
    };
  }
}
