// Engine properties that hold whatever the reference: streaming modes agree bit for bit,
// incremental decoding equals recomputing from scratch, timing records add up, sampling is
// seeded, EOS stops generation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine, type GenerateResult } from '../../bench/engine/engine.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import type { LoadPlan } from '../../bench/model/types.js';
import { HAS_STORIES, STORIES_DIR, STORIES_SUITE } from '../helpers/paths.js';

const PROMPT = [1, 403, 407, 261, 378]; // "Once upon a time" with BOS
const LILY = [432, 383, 286, 261, 376, 298, 315, 421, 395, 317]; // ", there was a little girl named Lily"

describe.skipIf(!HAS_STORIES)(STORIES_SUITE, () => {
  let plan: LoadPlan;
  beforeAll(() => {
    plan = buildLoadPlan(STORIES_DIR);
  });

  const engines: InferenceEngine[] = [];
  const open = (opts: Parameters<typeof InferenceEngine.open>[1]) => {
    const e = InferenceEngine.open(plan, opts);
    engines.push(e);
    return e;
  };
  afterAll(() => engines.forEach((e) => e.close()));

  it('streaming with and without prefetch, and resident, give identical tokens and logits', async () => {
    const modes = [{ prefetch: true }, { prefetch: false }, { resident: true }, { resident: true, prefetch: false }];
    const runs: GenerateResult[] = [];
    for (const mode of modes) {
      runs.push(await open(mode).generate({ promptIds: PROMPT, maxNewTokens: 24, logits: 'all' }));
    }
    expect(runs[0].tokens.slice(0, LILY.length)).toEqual(LILY);
    for (const r of runs.slice(1)) {
      expect(r.tokens).toEqual(runs[0].tokens);
      r.logits.forEach((l, i) => expect(Array.from(l)).toEqual(Array.from(runs[0].logits[i])));
    }
  });

  it('incremental decoding over the KV cache equals a full recompute of the sequence', async () => {
    const engine = open({});
    const inc = await engine.generate({ promptIds: PROMPT, maxNewTokens: 20, logits: 'all', stopOnEos: false });
    for (const k of [1, 7, 19]) {
      const full = await engine.generate({ promptIds: [...PROMPT, ...inc.tokens.slice(0, k)], maxNewTokens: 1, logits: 'prefill' });
      const a = inc.logits[k];
      const b = full.logits[0];
      const scale = Math.max(...Array.from(b, Math.abs));
      const maxDiff = Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));
      expect(maxDiff).toBeLessThan(1e-4 * scale);
      expect(full.tokens[0]).toBe(inc.tokens[k]);
    }
  });

  it('records one step per token with every unit, and streaming re-reads every layer each step', async () => {
    const r = await open({ prefetch: true }).generate({ promptIds: PROMPT, maxNewTokens: 6, stopOnEos: false });
    expect(r.steps.map((s) => s.kind)).toEqual(['prefill', 'decode', 'decode', 'decode', 'decode', 'decode']);
    expect(r.steps.map((s) => s.tokens)).toEqual([5, 1, 1, 1, 1, 1]);
    expect(r.steps.map((s) => s.position)).toEqual([0, 5, 6, 7, 8, 9]);
    const names = ['embed', 'layers.0', 'layers.1', 'layers.2', 'layers.3', 'layers.4', 'lm_head'];
    const layerBytes = plan.layers.map((l) => Object.values(l).reduce((a, t) => a + t.bytes, 0));
    for (const step of r.steps) {
      expect(step.units.map((u) => u.name)).toEqual(names);
      expect(step.units.slice(1, 6).map((u) => u.bytesRead)).toEqual(layerBytes);
      expect(step.units[6].bytesRead).toBe(plan.lmHead.bytes);
      expect(step.units[0].bytesRead).toBe(step.tokens * plan.spec.hiddenSize * 4);
      expect(step.units.slice(1).every((u) => u.loadInBackground && u.loadNs > 0 && u.forwardNs > 0)).toBe(true);
      const foreground = step.units.reduce((a, u) => a + u.cpuWaitNs + u.createNs + u.forwardNs + u.kvFillNs, 0) + step.units[0].loadNs;
      expect(foreground).toBeLessThanOrEqual(step.wallNs);
      expect(step.peakRssBytes).toBeGreaterThan(1 << 20);
    }
  });

  it('without prefetch loads are foreground and there is no prefetch wait', async () => {
    const r = await open({ prefetch: false }).generate({ promptIds: PROMPT, maxNewTokens: 3 });
    for (const step of r.steps) {
      expect(step.units.every((u) => u.cpuWaitNs === 0 && !u.loadInBackground)).toBe(true);
      const phases = step.units.reduce((a, u) => a + u.loadNs + u.createNs + u.forwardNs + u.kvFillNs, 0);
      expect(phases).toBeLessThanOrEqual(step.wallNs);
    }
  });

  it('resident mode reads layers once, then only embedding rows', async () => {
    const engine = open({ resident: true });
    const first = await engine.generate({ promptIds: PROMPT, maxNewTokens: 3 });
    expect(first.steps[0].units.slice(1).every((u) => u.bytesRead > 0)).toBe(true);
    for (const step of first.steps.slice(1)) expect(step.units.slice(1).every((u) => u.bytesRead === 0 && u.createNs === 0)).toBe(true);
    const second = await engine.generate({ promptIds: PROMPT, maxNewTokens: 2 });
    expect(second.steps[0].units.slice(1).every((u) => u.bytesRead === 0)).toBe(true);
    expect(second.tokens).toEqual(first.tokens.slice(0, 2));
  });

  it('reports each token through the callback as it is generated', async () => {
    const seen: number[] = [];
    const r = await open({}).generate({ promptIds: PROMPT, maxNewTokens: 8 }, (id) => seen.push(id));
    expect(seen).toEqual(r.tokens);
  });

  it('stops at an EOS id and says so', async () => {
    const eosPlan = { ...plan, spec: { ...plan.spec, eosTokenIds: [LILY[2]] } };
    const e = InferenceEngine.open(eosPlan, {});
    engines.push(e);
    const r = await e.generate({ promptIds: PROMPT, maxNewTokens: 20 });
    expect(r.tokens).toEqual(LILY.slice(0, 3));
    expect(r.stopReason).toBe('eos');
    const ignored = await e.generate({ promptIds: PROMPT, maxNewTokens: 5, stopOnEos: false });
    expect(ignored.tokens).toEqual(LILY.slice(0, 5));
    expect(ignored.stopReason).toBe('max_new_tokens');
  });

  it('sampling is reproducible for a seed, top-k 1 equals greedy, and seeds differ', async () => {
    const e = open({});
    const sample = (seed: number) => e.generate({ promptIds: PROMPT, maxNewTokens: 24, stopOnEos: false, sampling: { temperature: 1.2, topP: 0.95, seed } });
    const a = await sample(7);
    const b = await sample(7);
    expect(b.tokens).toEqual(a.tokens);
    const c = await sample(8);
    expect(c.tokens).not.toEqual(a.tokens);
    const k1 = await e.generate({ promptIds: PROMPT, maxNewTokens: 10, stopOnEos: false, sampling: { temperature: 0.7, topK: 1, seed: 3 } });
    expect(k1.tokens).toEqual(LILY);
  });

  it('repetition penalty changes greedy choices away from repeats', async () => {
    const e = open({});
    const plain = await e.generate({ promptIds: PROMPT, maxNewTokens: 40, stopOnEos: false });
    const penalised = await e.generate({ promptIds: PROMPT, maxNewTokens: 40, stopOnEos: false, sampling: { greedy: true, repetitionPenalty: 3 } });
    const distinct = (t: number[]) => new Set(t).size;
    expect(penalised.tokens).not.toEqual(plain.tokens);
    expect(distinct(penalised.tokens)).toBeGreaterThan(distinct(plain.tokens));
  });

  it('rejects a second generate while one runs, and use after close', async () => {
    const e = InferenceEngine.open(plan, {});
    const running = e.generate({ promptIds: PROMPT, maxNewTokens: 4 });
    await expect(e.generate({ promptIds: PROMPT, maxNewTokens: 1 })).rejects.toThrow(/already running/);
    await running;
    e.close();
    await expect(e.generate({ promptIds: PROMPT, maxNewTokens: 1 })).rejects.toThrow(/closed/);
  });
});
