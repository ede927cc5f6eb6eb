// parity --llama-cpp: every prompt through llama.cpp (a child process) and through the engine,
// on the same GGUF file and the same token ids.
import type { InferenceEngine } from '../engine/engine.js';
import { isQuantized } from '../model/dtype.js';
import type { LoadPlan } from '../model/types.js';
import { unitFacts } from '../profile/units.js';
import { compareWithLlamaCpp, FLOAT_TOLERANCE, judgeLlamaCpp, QUANTIZED_TOLERANCE, type LlamaCppMetrics, type LlamaCppTolerance } from './compare.js';
import type { ReferenceReport } from './schema.js';

export interface LlamaCppCaseResult {
  name: string;
  prompt_tokens: number;
  metrics: LlamaCppMetrics;
  pass: boolean;
  failures: string[];
}

/** The quantized tolerance as soon as any weight is block-quantized (llama.cpp then quantizes activations too). */
export function toleranceFor(plan: LoadPlan): LlamaCppTolerance {
  const types = unitFacts(plan).flatMap((u) => Object.keys(u.dtypes));
  return types.some((t) => isQuantized(t as Parameters<typeof isQuantized>[0])) ? QUANTIZED_TOLERANCE : FLOAT_TOLERANCE;
}

export async function runLlamaCppParity(reference: ReferenceReport, engine: InferenceEngine, tol: LlamaCppTolerance): Promise<LlamaCppCaseResult[]> {
  const results: LlamaCppCaseResult[] = [];
  for (const c of reference.cases) {
    const out = await engine.generate({ promptIds: c.prompt_ids, maxNewTokens: c.greedy_tokens.length, stopOnEos: false, logits: 'prefill', sampling: { greedy: true } });
    const metrics = compareWithLlamaCpp(out.logits[0], out.tokens, c);
    results.push({ name: c.name, prompt_tokens: c.prompt_ids.length, metrics, ...judgeLlamaCpp(metrics, tol) });
  }
  return results;
}
