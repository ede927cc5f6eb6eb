// Runs every case of a reference through the engine and judges it.
import type { InferenceEngine } from '../engine/engine.js';
import { compareWithReference, judgeParity, type ParityMetrics, type ParityTolerance } from './compare.js';
import type { ReferenceFile } from './reference-file.js';

export interface CaseResult {
  name: string;
  prompt_tokens: number;
  metrics: ParityMetrics;
  pass: boolean;
  failures: string[];
}

export async function runParity(reference: ReferenceFile, engine: InferenceEngine, tol: ParityTolerance): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of reference.cases) {
    const out = await engine.generate({ promptIds: c.prompt_ids, maxNewTokens: c.max_new_tokens, stopOnEos: false, logits: 'prefill', sampling: { greedy: true } });
    const metrics = compareWithReference(out.logits[0], c.last_logits, out.tokens, c.greedy_tokens);
    const verdict = judgeParity(metrics, tol);
    results.push({ name: c.name, prompt_tokens: c.prompt_ids.length, metrics, ...verdict });
  }
  return results;
}
