import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { writeCheckpoint } from '../../bench/synth/checkpoint.js';
import { countParams } from '../../bench/synth/shapes.js';
import { aggregateRows, medianOf, ratio } from '../../bench/vs-hf/aggregate.js';
import { otherCores, parseProcStat } from '../../bench/vs-hf/cpu-load.js';
import { lcgPromptIds } from '../../bench/vs-hf/prompt.js';
import { decodeWeightBytes, memoryBandwidthUsed, roofline } from '../../bench/vs-hf/roofline.js';
import { FIXTURES } from '../../bench/synth/fixture-specs.js';
import { tempDir } from '../synth/helpers.js';
import { failed, measured, memoryBandwidth, model } from './helpers.js';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('prompt ids', () => {
  it('are deterministic, in range, spread over the vocabulary, and change with the seed', () => {
    const a = lcgPromptIds(512, 49152);
    expect(a).toHaveLength(512);
    expect(lcgPromptIds(512, 49152)).toEqual(a);
    expect(a.every((id) => Number.isInteger(id) && id >= 0 && id < 49152)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(480);
    expect(Math.max(...a)).toBeGreaterThan(0.9 * 49152);
    expect(Math.min(...a)).toBeLessThan(0.1 * 49152);
    expect(lcgPromptIds(512, 49152, 2)).not.toEqual(a);
    // The first ids of the 32-bit LCG from seed 1: 1664525 + 1013904223 = 1015568748, ...
    expect(lcgPromptIds(1, 2 ** 16)).toEqual([Math.floor((1015568748 / 2 ** 32) * 2 ** 16)]);
  });

  it('refuses empty prompts and vocabularies', () => {
    expect(() => lcgPromptIds(0, 10)).toThrow(/prompt length/);
    expect(() => lcgPromptIds(4, 0)).toThrow(/vocab size/);
  });
});

describe('weight bytes per decode token', () => {
  const plan = (name: keyof typeof FIXTURES) => {
    const dir = tempDir('vs-hf');
    made.push(dir);
    writeCheckpoint(dir, FIXTURES[name]);
    return { plan: buildLoadPlan(dir), config: FIXTURES[name].config };
  };

  it('untied bf16: every layer and the lm_head, not the embedding or the final norm; f32 doubles it', () => {
    const { plan: p, config } = plan('llama-untied-mha-llama3-bias-bf16');
    const h = config.hidden_size as number;
    const vocab = config.vocab_size as number;
    // countParams has embed + lm_head + layers + final norm; decode reads lm_head + layers.
    const params = countParams(config) - vocab * h - h;
    expect(decodeWeightBytes(p)).toEqual({ stored: 2 * params, f32: 4 * params });
  });

  it('tied f32: the embedding is the lm_head and is counted once; f32 bytes are the stored bytes', () => {
    const { plan: p, config } = plan('llama-tied-gqa-f32');
    const params = countParams(config) - (config.hidden_size as number);
    expect(decodeWeightBytes(p)).toEqual({ stored: 4 * params, f32: 4 * params });
  });
});

describe('roofline', () => {
  it('limit = bandwidth ÷ bytes per token; percent = measured ÷ limit', () => {
    const r = roofline(250e6, 'memory', 25e9, 40);
    expect(r.limit_tok_s).toBeCloseTo(100, 10);
    expect(r.percent).toBeCloseTo(40, 10);
    expect(roofline(250e6, 'page-cache', 5e9, null)).toMatchObject({ limit_tok_s: 20, percent: null, bandwidth_source: 'page-cache' });
    expect(() => roofline(0, 'memory', 1e9, 1)).toThrow(/positive/);
  });

  it('uses the higher triad best of the memory measurements, in bytes/s', () => {
    expect(memoryBandwidthUsed([memoryBandwidth(20), memoryBandwidth(25.5)])).toBe(25.5e9);
    expect(memoryBandwidthUsed([memoryBandwidth(20), null])).toBe(20e9);
    expect(() => memoryBandwidthUsed([null])).toThrow(/no memory bandwidth/);
  });
});

describe('aggregation over rounds', () => {
  const bw = { memory: 20e9, pageCache: 5e9 };
  const m = model('tiny', 'bf16', 100e6);

  it('takes medians, skips failed rounds, and compares with transformers on the same model and dtype', () => {
    const ms = [
      measured(0, 'tiny', 'bf16', 'engine-resident', { prefill: 100, decode: 40, rss: 300 }),
      measured(1, 'tiny', 'bf16', 'engine-resident', { prefill: 300, decode: 60, rss: 500 }),
      measured(2, 'tiny', 'bf16', 'engine-resident', { prefill: 200, decode: 50, rss: 400 }),
      measured(0, 'tiny', 'bf16', 'hf-sdpa', { prefill: 100, decode: 10 }),
      failed(1, 'tiny', 'bf16', 'hf-sdpa'),
      measured(2, 'tiny', 'bf16', 'hf-sdpa', { prefill: 300, decode: 30 }),
      measured(0, 'tiny', 'bf16', 'hf-eager', { prefill: 50, decode: 25 }),
      // Another model's figures must not leak into this one's ratios.
      measured(0, 'other', 'bf16', 'hf-sdpa', { prefill: 1, decode: 1 }),
    ];
    const rows = aggregateRows(ms, [m], bw);
    expect(rows.map((r) => r.runner)).toEqual(['engine-resident', 'hf-eager', 'hf-sdpa']);
    const [res, eager, sdpa] = rows;
    expect(res).toMatchObject({ rounds: 3, failed: 0, prefill_tok_s: 200, decode_tok_s: 50, peak_rss_bytes: 400 });
    expect(sdpa).toMatchObject({ rounds: 2, failed: 1, prefill_tok_s: 200, decode_tok_s: 20 });
    expect(sdpa.errors).toEqual(['round 2: exit 1: boom']);
    expect(res.prefill_vs_hf_sdpa).toBeCloseTo(1, 10);
    expect(res.decode_vs_hf_sdpa).toBeCloseTo(2.5, 10);
    expect(res.decode_vs_hf_eager).toBeCloseTo(2, 10);
    expect(res.prefill_vs_hf_eager).toBeCloseTo(4, 10);
    expect(sdpa.decode_vs_hf_sdpa).toBe(1);
    expect(eager.decode_vs_hf_sdpa).toBeCloseTo(1.25, 10);
  });

  it('engine rooflines use the stored bytes (resident: memory, streaming: page cache); transformers the f32 bytes', () => {
    const ms = [
      measured(0, 'tiny', 'bf16', 'engine-resident', { prefill: 1, decode: 100 }),
      measured(0, 'tiny', 'bf16', 'engine-streaming', { prefill: 1, decode: 25 }),
      measured(0, 'tiny', 'bf16', 'hf-sdpa', { prefill: 1, decode: 50 }),
    ];
    const [res, st, hf] = aggregateRows(ms, [m], bw);
    expect(res.roofline).toMatchObject({ bytes_per_token: 100e6, bandwidth_source: 'memory', limit_tok_s: 200, percent: 50 });
    expect(st.roofline).toMatchObject({ bytes_per_token: 100e6, bandwidth_source: 'page-cache', limit_tok_s: 50, percent: 50 });
    expect(hf.roofline).toMatchObject({ bytes_per_token: 200e6, bandwidth_source: 'memory', limit_tok_s: 100, percent: 50 });
  });

  it('streaming: the median over rounds of Σwall / max(Σload, Σcompute) of the decode steps', () => {
    const st = (round: number, wall: number, load: number, compute: number) =>
      measured(round, 'tiny', 'bf16', 'engine-streaming', { prefill: 1, decode: 1, phases: { wall_ns: wall, load_ns: load, compute_ns: compute } });
    const [row] = aggregateRows([st(0, 120, 100, 50), st(1, 150, 60, 100), st(2, 300, 100, 100)], [m], bw);
    // 1.2 (load-bound), 1.5 (compute-bound), 3.0: median 1.5.
    expect(row.streaming_wall_over_bound).toBeCloseTo(1.5, 10);
    expect(row.streaming_decode_ms).toEqual({ wall: 150e-6, load: 100e-6, compute: 100e-6 });
    const [res] = aggregateRows([measured(0, 'tiny', 'bf16', 'engine-resident', { prefill: 1, decode: 1 })], [m], bw);
    expect(res.streaming_wall_over_bound).toBeNull();
  });

  it('a runner that failed every round has a row without figures, and no ratios', () => {
    const [row] = aggregateRows([failed(0, 'tiny', 'bf16', 'engine-resident'), measured(0, 'tiny', 'bf16', 'hf-sdpa', { prefill: 1, decode: 1 })], [m], bw);
    expect(row).toMatchObject({ rounds: 0, failed: 1, decode_tok_s: null, decode_vs_hf_sdpa: null });
    expect(row.roofline.percent).toBeNull();
  });

  it('medianOf ignores missing values; ratio needs both sides', () => {
    expect(medianOf([3, null, 1, 2])).toBe(2);
    expect(medianOf([null])).toBeNull();
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(null, 2)).toBeNull();
    expect(ratio(3, null)).toBeNull();
  });
});

describe('CPU used by others while a child ran', () => {
  it('counts user, nice, system, irq, softirq and steal as busy', () => {
    const t = parseProcStat('cpu  100 5 20 1000 7 1 2 3 50 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n');
    expect(t).toEqual({ busy: 100 + 5 + 20 + 1 + 2 + 3, total: 100 + 5 + 20 + 1000 + 7 + 1 + 2 + 3 });
    expect(parseProcStat('intr 1 2 3')).toBeNull();
  });

  it('is the machine busy time less the child CPU time, per second of wall', () => {
    // 400 ticks = 4 s busy in 2 s of wall; the child used 3 s of CPU: others 0.5 cores.
    expect(otherCores({ busy: 1000, total: 5000 }, { busy: 1400, total: 5400 }, 3, 2)).toBeCloseTo(0.5, 10);
    expect(otherCores({ busy: 1000, total: 5000 }, { busy: 1100, total: 5400 }, 3, 2)).toBe(0);
    expect(otherCores(null, { busy: 1, total: 1 }, 1, 1)).toBeNull();
  });
});
