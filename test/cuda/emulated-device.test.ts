// The engine's device-backend code paths, on the CPU (engine option emulateDevice): pipelined steps
// (unit u+1 staged while unit u computes, then awaited), host buffers from the backend's
// allocator, raw embedding rows converted by the backend, argmax in the backend, device memory
// stats. They must not change a single logit, and the phases must keep adding up.
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine, type EngineOptions, type GenerateResult } from '../../bench/engine/engine.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { DENSE_FIXTURES } from '../helpers/fixture-kinds.js';
import { HAS_STORIES, STORIES_DIR, TEST_FIXTURES_DIR } from '../helpers/paths.js';

async function generate(dir: string, options: EngineOptions, promptIds: number[], maxNewTokens: number): Promise<GenerateResult> {
  const engine = InferenceEngine.open(buildLoadPlan(dir), options);
  try {
    return await engine.generate({ promptIds, maxNewTokens, stopOnEos: false, logits: 'all' });
  } finally {
    engine.close();
  }
}

function expectSameOutputs(got: GenerateResult, want: GenerateResult, what: string) {
  expect(got.tokens, what).toEqual(want.tokens);
  expect(got.logits.length, what).toBe(want.logits.length);
  got.logits.forEach((l, i) => expect(Buffer.from(l.buffer).equals(Buffer.from(want.logits[i].buffer)), `${what}: logits of step ${i}`).toBe(true));
}

function expectPhasesWithinWall(r: GenerateResult) {
  for (const s of r.steps) {
    let foreground = s.sampleNs;
    for (const u of s.units) foreground += u.cpuWaitNs + u.createNs + u.forwardNs + u.kvFillNs + (u.loadInBackground ? 0 : u.loadNs);
    expect(foreground).toBeLessThanOrEqual(s.wallNs + s.sampleNs);
    for (const u of s.units) expect(Math.min(u.cpuWaitNs, u.createNs, u.forwardNs, u.kvFillNs)).toBeGreaterThanOrEqual(0);
  }
}

describe('device-backend code paths, emulated on the CPU', () => {
  let dirs: Record<string, string>;
  beforeAll(() => {
    dirs = buildFixtures(TEST_FIXTURES_DIR);
  });

  // The device backends refuse mixture-of-experts layers (test/engine/moe.test.ts).
  for (const name of DENSE_FIXTURES) {
    it(`${name}: identical tokens and logits to the CPU path (prefetch, no prefetch, resident)`, async () => {
      const prompt = [5, 17, 99, 3, 42, 8, 61];
      const want = await generate(dirs[name], {}, prompt, 6);
      for (const o of [{ prefetch: true }, { prefetch: false }, { resident: true }] as EngineOptions[]) {
        const got = await generate(dirs[name], { ...o, emulateDevice: true }, prompt, 6);
        expectSameOutputs(got, want, `${name} ${JSON.stringify(o)}`);
        expectPhasesWithinWall(got);
        expect(got.steps[0].units.map((u) => u.name)).toEqual(want.steps[0].units.map((u) => u.name));
      }
    });
  }
});

describe.skipIf(!HAS_STORIES)('device-backend code paths on stories260K', () => {
  it('greedy tokens through the backend argmax equal the host sampler; sampling still goes through the host', async () => {
    const prompt = [1, 403, 407, 261, 378];
    const want = await generate(STORIES_DIR, {}, prompt, 40);
    const got = await generate(STORIES_DIR, { emulateDevice: true }, prompt, 40);
    expectSameOutputs(got, want, 'stories260K');
    expectPhasesWithinWall(got);
    const engine = InferenceEngine.open(buildLoadPlan(STORIES_DIR), { emulateDevice: true });
    const plain = InferenceEngine.open(buildLoadPlan(STORIES_DIR));
    try {
      const sampling = { greedy: false, temperature: 0.8, topK: 20, seed: 7 };
      const a = await engine.generate({ promptIds: prompt, maxNewTokens: 20, stopOnEos: false, sampling });
      const b = await plain.generate({ promptIds: prompt, maxNewTokens: 20, stopOnEos: false, sampling });
      expect(a.tokens).toEqual(b.tokens);
      const penalty = { greedy: true, repetitionPenalty: 1.3 };
      const c = await engine.generate({ promptIds: prompt, maxNewTokens: 20, stopOnEos: false, sampling: penalty });
      const d = await plain.generate({ promptIds: prompt, maxNewTokens: 20, stopOnEos: false, sampling: penalty });
      expect(c.tokens).toEqual(d.tokens);
      // Device stats: every streamed unit's buffer size, layers then lm_head.
      expect(a.device).toBeDefined();
      expect(a.device!.unitBytes).toHaveLength(6);
      expect(Math.min(...a.device!.unitBytes)).toBeGreaterThan(0);
      expect(engine.deviceStats).toEqual(c.device);
    } finally {
      engine.close();
      plain.close();
    }
  });
});
