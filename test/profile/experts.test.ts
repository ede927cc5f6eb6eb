// The expert statistics and the MoE verdict, from hand-made step records (no engine), and the
// profile of a real MoE fixture end to end: the JSON's expert statistics, the table, the
// whole-layer baseline, and a result file that reads back.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExpertRecord, StepRecord, UnitRecord } from '../../bench/engine/records.js';
import type { MoeSpec } from '../../bench/model/types.js';
import { expertStats, expertVerdict } from '../../bench/profile/experts.js';
import { stepTotals } from '../../bench/profile/phases.js';
import type { ProfileSummary } from '../../bench/profile/summary.js';
import type { Verdict } from '../../bench/profile/verdict.js';
import { parseProfileFile } from '../../bench/results/read.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';

const tempDir = tempDirs();
const MiB = 2 ** 20;

const experts = (e: Partial<ExpertRecord>): ExpertRecord => ({
  used: [], loaded: 0, prefetched: 0, cached: 0, guessed: 0, guessedUsed: 0, bytesRead: 0, loadNs: 0, prefetchLoadNs: 0, waitNs: 0, createNs: 0, ...e,
});
const unit = (name: string, u: Partial<UnitRecord>): UnitRecord => ({
  name, loadNs: 0, bytesRead: 0, cpuWaitNs: 0, createNs: 0, forwardNs: 0, kvFillNs: 0, loadInBackground: false, ...u,
});
const step = (kind: 'prefill' | 'decode', wallNs: number, units: UnitRecord[]): StepRecord => ({
  kind, tokens: kind === 'prefill' ? 4 : 1, position: 0, wallNs, sampleNs: 0, peakRssBytes: 0, deviceBytesRead: null, units,
});

const MOE: MoeSpec = { numExperts: 8, topK: 2, expertIntermediateSize: 4, sharedExpertIntermediateSize: null, normTopkProb: true, sparseLayers: [0] };
const UNITS = [
  { name: 'embed', bytes: 100, dtypes: {} },
  { name: 'layers.0', bytes: 10 * MiB, dtypes: {} },
  { name: 'lm_head', bytes: 2 * MiB, dtypes: {} },
];

describe('expert statistics', () => {
  // Layer 0 is attention (2 MiB) plus 8 experts of 1 MiB. Decode step 1 reads both its experts,
  // one ahead (the prefetcher guessed [1, 2] from the prefill's last... here: the step before);
  // step 2 reuses expert 3 from the cache.
  const run: StepRecord[] = [
    step('prefill', 5e6, [unit('layers.0', { bytesRead: 2 * MiB, experts: experts({ used: [0, 1, 2, 5], loaded: 4, bytesRead: 4 * MiB, loadNs: 4e6 }) })]),
    step('decode', 3e6, [
      unit('layers.0', {
        bytesRead: 2 * MiB, loadNs: 1e6, loadInBackground: true, forwardNs: 5e5,
        experts: experts({ used: [1, 3], loaded: 2, prefetched: 1, guessed: 2, guessedUsed: 1, bytesRead: 2 * MiB, loadNs: 1e6, prefetchLoadNs: 1e6, waitNs: 2e5, createNs: 1e4 }),
      }),
    ]),
    step('decode', 2e6, [
      unit('layers.0', {
        bytesRead: 2 * MiB, loadNs: 1e6, loadInBackground: true, forwardNs: 5e5,
        experts: experts({ used: [3, 6], loaded: 1, cached: 1, guessed: 2, guessedUsed: 1, bytesRead: MiB, loadNs: 1e6, createNs: 1e4 }),
      }),
    ]),
  ];

  it('counts per decode step, hit rate, guesses, bytes against whole layers, and the working set', () => {
    const s = expertStats([run], MOE, UNITS, MiB, 4 * MiB);
    expect(s).toMatchObject({
      streaming: true, num_experts: 8, top_k: 2, sparse_layers: 1, expert_bytes: MiB,
      used_per_step: 2, loaded_per_step: 1.5,
      cache_hit_rate: 1 / 4, repeat_rate: 1 / 2, prefetched_share: 1 / 3, prefetch_accuracy: 2 / 4,
      load_ms_per_step: 1, wait_ms_per_step: 0.1, load_ms_per_expert: 1,
      whole_layer_bytes_per_step: 12 * MiB, working_set_bytes: 3 * MiB, cache_bytes: 4 * MiB,
    });
    expect(s.bytes_per_step).toBe(3.5 * MiB);
    expect(s.max_layer_read_share).toBeCloseTo(3.5 / 10);
  });

  it('expert reads, waits and the prefetch thread count in the phases, in the foreground or the background', () => {
    const t = stepTotals([run[1]]);
    expect(t.phases.load_safe_tensor).toBe(1e6 + 1e6 + 1e6);
    expect(t.backgroundLoad).toBe(1e6 + 1e6);
    expect(t.phases.load_safe_tensor_cpu_wait).toBe(2e5);
    expect(t.phases.create_layer).toBe(1e4);
    expect(t.bytesRead).toBe(4 * MiB);
  });

  it('whole-layer streaming has no hit rate; every expert is in the layer unit', () => {
    const whole = [step('decode', 1e6, [unit('layers.0', { bytesRead: 10 * MiB, experts: experts({ used: [2, 4], cached: 2 }) })])];
    const s = expertStats([whole], MOE, UNITS, MiB, null);
    expect(s.streaming).toBe(false);
    expect(s.cache_hit_rate).toBeNull();
    expect(s.prefetch_accuracy).toBeNull();
    expect(s.max_layer_read_share).toBe(1);
  });

  it('the verdict becomes expert-load-bound when expert reads are most of the foreground load, and names the cache that would hold the working set', () => {
    const base: Verdict = { bottleneck: 'page-cache', share: 0.6, line: 'page-cache copy-bound', advice: 'x' };
    const s = expertStats([run], MOE, UNITS, MiB, 2 * MiB);
    const t = stepTotals(run);
    const v = expertVerdict(base, t, s, 6e6);
    expect(v.bottleneck).toBe('expert-load');
    expect(v.line).toMatch(/^expert-load-bound: reading experts takes \d+% of wall time, cache hit rate 25%, prefetch guessed 50% right/);
    expect(v.line).toMatch(/a cache of 3 MiB would hold the working set \(--expert-cache 3\)/);
    // Compute-bound stays compute-bound, with the experts' costs beside it; a cache already
    // holding the working set says so.
    const compute = expertVerdict({ ...base, bottleneck: 'compute' }, t, s, 6e6);
    expect(compute.bottleneck).toBe('compute');
    expect(compute.line).toMatch(/^page-cache copy-bound · experts: cache hit rate 25%, prefetch guessed 50% right, 3\.5 MiB read per step of 12 MiB for whole layers$/);
    const held = expertVerdict(base, t, { ...s, cache_bytes: 8 * MiB }, 6e6);
    expect(held.line).toMatch(/already holds the run's working set/);
    expect(held.advice).toMatch(/starts with an empty expert cache.*--resident keeps every expert read/);
    expect(expertVerdict(base, t, s, 1e5)).toMatchObject({ bottleneck: 'page-cache', share: 0.6 });
    expect(expertVerdict(base, t, { ...s, streaming: false }, 0).line).toMatch(/experts: whole layers, .*expert streaming \(the default\) reads only the routed experts/);
  });
});

describe('profile of a mixture-of-experts model', () => {
  let model: string;
  beforeAll(() => {
    model = buildFixtures(TEST_FIXTURES_DIR)['qwen3moe-normtopk-bf16'];
  });

  it('prints the Experts table and writes summary.experts; --no-expert-streaming reads whole layers', async () => {
    const out = tempDir('rb-moe-profile-');
    const streamed = await runCli(['profile', '--model', model, '--runs', '2', '--warmup', '0', '--prompt-tokens', '20', '--max-new-tokens', '6',
      '--expert-cache', '0', '--no-measure-env', '--out', out]);
    expect(streamed.status, streamed.stderr).toBe(0);
    expect(streamed.stdout).toMatch(/Experts \(median per decode step; 1 sparse layers, top-4 of 16/);
    expect(streamed.stdout).toMatch(/expert streaming, cache 0\.0 MiB/);
    const file = parseProfileFile(JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.json'))!), 'utf8')), 'the profile');
    const summary = file.summary;
    expect(file.settings.experts).toEqual({ streaming: true, cache_bytes: 0 });
    expect(summary.experts).toMatchObject({ streaming: true, num_experts: 16, top_k: 4, sparse_layers: 1, used_per_step: 4, loaded_per_step: 4, cache_hit_rate: 0 });
    expect(summary.experts!.max_layer_read_share).toBeLessThan(0.5);
    const sparse = summary.layers.find((l) => l.name === 'layers.1')!;
    expect(sparse.bytes_per_decode_step).toBeLessThan(sparse.unit_bytes!);
    expect(file.runs[0].steps[1].experts?.[2]).toMatchObject({ loaded: 4 });

    const whole = await runCli(['profile', '--model', model, '--runs', '1', '--warmup', '0', '--prompt-tokens', '20', '--max-new-tokens', '4',
      '--no-expert-streaming', '--no-measure-env', '--no-save', '--json']);
    expect(whole.status, whole.stderr).toBe(0);
    const w = JSON.parse(whole.stdout).summary as ProfileSummary;
    expect(w.experts).toMatchObject({ streaming: false, cache_hit_rate: null, max_layer_read_share: 1 });
    expect(w.verdict.line).toMatch(/ · experts: whole layers/);
    expect(w.layers.find((l) => l.name === 'layers.1')!.bytes_per_decode_step).toBe(w.layers.find((l) => l.name === 'layers.1')!.unit_bytes);
    expect(w.bytes_per_decode_step).toBeGreaterThan(summary.bytes_per_decode_step);
  });

  it('a dense model has no expert statistics', async () => {
    const dense = buildFixtures(TEST_FIXTURES_DIR)['llama-tied-gqa-f32'];
    const r = await runCli(['profile', '--model', dense, '--runs', '1', '--warmup', '0', '--prompt-tokens', '8', '--max-new-tokens', '2', '--no-measure-env', '--no-save', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const file = JSON.parse(r.stdout);
    expect(file.summary.experts).toBeNull();
    expect(file.settings.experts).toBeNull();
    expect(file.runs[0].steps[0].experts).toBeUndefined();
  });
});
