import { expect } from 'vitest';
import { InferenceEngine, type EngineOptions } from '../../bench/engine/engine.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { F32_TOLERANCE } from '../../bench/reference/compare.js';
import { readReference } from '../../bench/reference/reference-file.js';
import { runParity } from '../../bench/reference/run-parity.js';
import { checkReferenceWeights } from '../../bench/reference/weights-check.js';

/**
 * The engine on `model` against the golden reference file: made from these very weights (else
 * `regenerate` says how to remake it), a short and a >= 150-token case, every f32 check passing.
 */
export async function expectGoldenParity(model: string, golden: string, regenerate: string, options: EngineOptions = {}) {
  const plan = buildLoadPlan(model);
  const reference = readReference(golden);
  expect(checkReferenceWeights(reference, plan.files), `golden ${golden} is stale: run \`${regenerate}\``).toEqual({ status: 'match' });
  const engine = InferenceEngine.open(plan, options);
  try {
    const results = await runParity(reference, engine, F32_TOLERANCE);
    expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(['short', 'long']));
    expect(results.find((r) => r.name === 'long')!.prompt_tokens).toBeGreaterThanOrEqual(150);
    for (const r of results) expect(r.failures, `${golden} case ${r.name}`).toEqual([]);
    return results;
  } finally {
    engine.close();
  }
}
