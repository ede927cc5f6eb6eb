// The gate's adaptive loop without the native engine: measureAdaptively driven by the gate's own
// batch measuring (batchMeasurer) over fake engines, then the verdict the command would print.
import { beforeAll, describe, expect, it } from 'vitest';
import { diffProfiles } from '../../bench/compare/diff.js';
import { gateVerdict, measureAdaptively, type GateLimits } from '../../bench/compare/gate.js';
import { batchMeasurer, type BuildToMeasure } from '../../bench/compare/gate-measure.js';
import type { LoadPlan } from '../../bench/model/types.js';
import type { ProfileFile } from '../../bench/results/profile-schema.js';
import { defaultToken, FakeEngine, type Scenario } from '../helpers/fake-engine.js';
import { FAKE_BUILD, FAKE_METADATA, fakeEnvironment, fakeProfile, fakeSettings, fakeUnits, tinyPlan } from '../helpers/fake-profile.js';
import { tempDirs } from '../helpers/temp.js';

const tempDir = tempDirs();
const PROMPT = [11, 3, 250, 42, 9, 77];
const STEPS = 4;
const THRESHOLD = 0.05;
const METRICS = ['cpu_ms'];
const LIMITS: GateLimits = { batch: 3, minRuns: 5, maxRuns: 30, budget: 100 };

let plan: LoadPlan;
let baseline: ProfileFile;

/** Deterministic noise: every call a factor in [1 - spread/2, 1 + spread/2]. */
function noise(spread: number, seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 1 + spread * (s / 2 ** 32 - 0.5);
  };
}

/** A compute-bound streaming run whose every time is scaled by `scale` per generation. */
const scenario = (scale: () => number, extra: Partial<Scenario> = {}): Scenario =>
  ({ units: fakeUnits(plan), background: true, loadMs: 0.5, forwardMs: 2, sampleMs: 0.1, scale, ...extra });

const build = (s: Scenario, name: string, log: string[]): BuildToMeasure => ({ open: () => new FakeEngine(s, { name, log }), build: FAKE_BUILD });

beforeAll(async () => {
  plan = tinyPlan(tempDir('rb-gate-loop-'));
  const settings = fakeSettings({ promptTokens: PROMPT.length, maxNewTokens: STEPS, runs: 10, warmup: 1 });
  baseline = await fakeProfile(new FakeEngine(scenario(noise(0.02, 1))), plan, settings, PROMPT);
});

interface GateRun {
  current: Scenario;
  /** The base build, measured beside the current one (--baseline-engine). */
  base?: Scenario;
  limits?: Partial<GateLimits>;
  now?: () => number;
  strict?: boolean;
}

/** What `rabbit-bench gate` does after reading the baseline: measure adaptively, compare, judge. */
async function gate(o: GateRun) {
  const log: string[] = [];
  const workload = { plan, settings: baseline.settings, promptIds: baseline.prompt_ids!, metadata: FAKE_METADATA, environment: fakeEnvironment() };
  const measurer = batchMeasurer({ current: build(o.current, 'current', log), base: o.base && build(o.base, 'base', log) }, workload);
  try {
    const measured = await measureAdaptively(
      { ...LIMITS, ...o.limits, baseline, threshold: THRESHOLD, metrics: METRICS, paired: o.base !== undefined, now: o.now }, measurer.measureBatch);
    const diff = diffProfiles(measured.base, measured.current, { threshold: THRESHOLD, paired: measured.paired, sameModel: true });
    return { measured, log, verdict: gateVerdict(diff, { metrics: METRICS, strict: o.strict ?? false }) };
  } finally {
    measurer.close();
  }
}

const measuredRuns = (file: ProfileFile) => file.runs.filter((r) => !r.warmup).length;
const lastVerdict = (m: Awaited<ReturnType<typeof gate>>['measured']) => m.decisions.at(-1)!.verdicts.find((v) => v.id === 'cpu_ms')!;

describe('the adaptive loop against a baseline file', () => {
  it('a 20% slowdown is decided slower as soon as there are enough runs, and the gate fails', async () => {
    const slower = noise(0.02, 2);
    const { measured, verdict } = await gate({ current: scenario(() => 1.2 * slower()) });
    expect(measuredRuns(measured.current)).toBe(6); // two batches of 3: the first decision needs --min-runs 5
    expect(measured.decisions).toHaveLength(1);
    expect(lastVerdict(measured).verdict).toBe('slower');
    expect(lastVerdict(measured).change).toBeGreaterThan(0.17);
    expect(lastVerdict(measured).change).toBeLessThan(0.23);
    expect(verdict.status).toBe('FAIL');
    expect(verdict.failures).toHaveLength(1);
    expect(verdict.failures[0]).toMatch(/^CPU time per run (19|20|21)\.\d% slower \(99% CI/);
  });

  it('the same engine is decided no change, and the gate passes', async () => {
    const { measured, verdict } = await gate({ current: scenario(noise(0.02, 3)) });
    expect(lastVerdict(measured).verdict).toBe('no change');
    expect(measuredRuns(measured.current)).toBe(6);
    expect(verdict).toMatchObject({ status: 'PASS', failures: [], inconclusive: [] });
    expect(verdict.diff!.outputs).toMatchObject({ comparable: true, identical: true });
  });

  it('noisy runs stay inconclusive until --max-runs; the gate passes inconclusive, or fails with --strict', async () => {
    const { measured, verdict } = await gate({ current: scenario(noise(0.8, 4)), limits: { maxRuns: 12 } });
    expect(measuredRuns(measured.current)).toBe(12);
    expect(measured.decisions.map((d) => d.runs)).toEqual([6, 9, 12]);
    expect(measured.decisions.every((d) => d.verdicts[0].verdict === 'inconclusive')).toBe(true);
    expect(verdict).toMatchObject({ status: 'PASS (inconclusive)', failures: [], inconclusive: ['CPU time per run'] });

    const strict = await gate({ current: scenario(noise(0.8, 4)), limits: { maxRuns: 12 }, strict: true });
    expect(strict.verdict.status).toBe('FAIL');
    expect(strict.verdict.failures).toEqual(['inconclusive: CPU time per run']);
  });

  it('... or until the budget is spent, by the clock it is given', async () => {
    let clock = 0;
    const now = () => (clock += 40_000) - 40_000; // 40 s per batch
    const { measured } = await gate({ current: scenario(noise(0.8, 4)), limits: { maxRuns: 200, budget: 100 }, now });
    expect(measured.decisions.map((d) => d.elapsed_s)).toEqual([80, 120]);
    expect(measuredRuns(measured.current)).toBe(9);
    expect(lastVerdict(measured).verdict).toBe('inconclusive');
  });

  it('changed output tokens fail the gate, even when nothing got slower', async () => {
    const changed = (p: readonly number[], i: number) => defaultToken(p, i) + (i === STEPS - 1 ? 1 : 0);
    const { verdict } = await gate({ current: scenario(noise(0.02, 5), { token: changed }) });
    expect(verdict.status).toBe('FAIL');
    expect(verdict.failures).toEqual(['generated tokens changed against the baseline']);
    expect(verdict.diff!.outputs.note).toBe('generated tokens CHANGED');
  });
});

describe('the adaptive loop measuring the base build beside the current one', () => {
  it('alternates which goes first, with fresh instances, warmed up, for every pair', async () => {
    const { log } = await gate({ current: scenario(noise(0.02, 6)), base: scenario(noise(0.02, 7)), limits: { minRuns: 2, maxRuns: 3 } });
    expect(log).toEqual([
      'open current', 'open base',
      // pair 0: current first, on the instances opened first
      'generate current', 'generate base', 'generate current', 'generate base',
      // pair 1: base first, both reopened
      'close current', 'close base', 'open base', 'open current',
      'generate base', 'generate current', 'generate base', 'generate current',
      // pair 2: current first again
      'close current', 'close base', 'open current', 'open base',
      'generate current', 'generate base', 'generate current', 'generate base',
      'close current', 'close base',
    ]);
  });

  it('sees a 20% slowdown through a machine that slows down during the gate', async () => {
    // Both builds run on the same drifting machine: 1% slower with every generation of either.
    let generations = 0;
    const drift = () => 1 + 0.01 * generations++;
    const { measured, verdict } = await gate({ current: scenario(() => 1.2 * drift()), base: scenario(drift) });
    expect(measured.paired).toBe(true);
    expect(measuredRuns(measured.base)).toBe(measuredRuns(measured.current));
    expect(measured.base.settings.warmup).toBe(measuredRuns(measured.base)); // one warm-up per pair
    expect(lastVerdict(measured).verdict).toBe('slower');
    expect(verdict.status).toBe('FAIL');
    expect(verdict.diff!.paired).toBe(true);
  });
});
