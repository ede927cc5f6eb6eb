// The engine against llama.cpp on the same GGUF file: greedy tokens, and the top 5 of the next-token
// distribution after the prompt with their probabilities (node-llama-cpp gives probabilities,
// not logits, so the engine's logits go through a softmax first).
import { commonPrefix, topK } from '../reference/compare.js';
import type { ReferenceReport } from './schema.js';

export interface LlamaCppTolerance {
  /** Of llama.cpp's top 5, how many must be in the engine's top 5. */
  minTop5Overlap: number;
  /** Largest |engine p - llama.cpp p| over llama.cpp's top 5. */
  maxProbDiff: number;
}

/**
 * llama.cpp multiplies float weights by activations rounded to the weights' type (f16 for F16) and
 * quantized weights by activations quantized to 8 bits (Q8_0/Q8_K), where the engine keeps f32
 * activations: so the float tolerance is not f32 round-off, and quantized files get more room.
 * Measured on stories260K (24 greedy tokens, 5- and 495-token prompts, node-llama-cpp 3.21.1): the
 * largest |Δp| was 5.3e-3 in BF16 and 5.9e-3 in Q4_0, with every token and top 5 the same.
 */
export const FLOAT_TOLERANCE: LlamaCppTolerance = { minTop5Overlap: 5, maxProbDiff: 0.01 };
export const QUANTIZED_TOLERANCE: LlamaCppTolerance = { minTop5Overlap: 4, maxProbDiff: 0.03 };

export interface LlamaCppMetrics {
  top1Match: boolean;
  top5Overlap: number;
  maxProbDiff: number;
  greedyPrefix: number;
  greedyLength: number;
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

export function compareWithLlamaCpp(engineLogits: ArrayLike<number>, engineTokens: number[], ref: ReferenceReport['cases'][number]): LlamaCppMetrics {
  const p = softmax(engineLogits);
  const engineTop = topK(p, 5);
  const theirs = ref.top5.map((t) => t.id);
  return {
    top1Match: engineTop[0] === theirs[0],
    top5Overlap: theirs.filter((id) => engineTop.includes(id)).length,
    maxProbDiff: Math.max(...ref.top5.map((t) => (t.id < p.length ? Math.abs(p[t.id] - t.p) : 1))),
    greedyPrefix: commonPrefix(engineTokens, ref.greedy_tokens),
    greedyLength: ref.greedy_tokens.length,
  };
}

export function judgeLlamaCpp(m: LlamaCppMetrics, tol: LlamaCppTolerance): { pass: boolean; failures: string[] } {
  const failures: string[] = [];
  if (!m.top1Match) failures.push('top-1 token differs');
  if (m.top5Overlap < tol.minTop5Overlap) failures.push(`top-5 overlap ${m.top5Overlap}/5 < ${tol.minTop5Overlap}`);
  if (!(m.maxProbDiff <= tol.maxProbDiff)) failures.push(`max |Δp| over llama.cpp's top 5 ${m.maxProbDiff.toExponential(2)} > ${tol.maxProbDiff}`);
  if (m.greedyPrefix < m.greedyLength) failures.push(`greedy tokens diverge at ${m.greedyPrefix} of ${m.greedyLength}`);
  return { pass: failures.length === 0, failures };
}
