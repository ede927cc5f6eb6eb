// The engine's compute threads: each output row and each attention head is computed whole by
// one thread, so any thread count gives bit-identical logits; and two engines computing at once
// share the one pool (the second runs on its own thread while the first holds it) without
// disturbing each other. A SmolLM2-135M shape is wide enough that every parallel loop runs on
// the pool, in prefill (packed panels) and decode (dot products in place).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../bench/engine/engine.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import type { LoadPlan } from '../../bench/model/types.js';
import { synthSmolLm2 } from '../helpers/synth.js';
import { tempDirs } from '../helpers/temp.js';

const tempDir = tempDirs();
const PROMPT = Array.from({ length: 40 }, (_, i) => (i * 7919 + 11) % 49152);

describe('compute threads', () => {
  let plan: LoadPlan;
  const engines: InferenceEngine[] = [];
  beforeAll(async () => {
    const model = await synthSmolLm2(tempDir('rb-pool-'), 2);
    plan = buildLoadPlan(model);
  }, 120_000);
  afterAll(() => engines.forEach((e) => e.close()));

  const generate = (threads: number) => {
    const engine = InferenceEngine.open(plan, { resident: true, threads });
    engines.push(engine);
    return engine.generate({ promptIds: PROMPT, maxNewTokens: 4, logits: 'all', stopOnEos: false });
  };
  const logitsOf = (r: Awaited<ReturnType<typeof generate>>) => r.logits.map((l) => Array.from(l));

  it('one, two and three threads give bit-identical logits in prefill and decode', async () => {
    const one = await generate(1);
    expect(one.logits).toHaveLength(4); // prefill, then three decode steps (the last token needs none)
    for (const threads of [2, 3]) expect(logitsOf(await generate(threads))).toEqual(logitsOf(one));
  });

  it('two engines generating at once give what each gives alone', async () => {
    const alone = logitsOf(await generate(2));
    const [a, b] = await Promise.all([generate(2), generate(2)]);
    expect(logitsOf(a)).toEqual(alone);
    expect(logitsOf(b)).toEqual(alone);
  });
});
