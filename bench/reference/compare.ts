// Engine output vs the HF reference: the numbers `parity` prints and judges.

export interface ParityTolerance {
  /** Minimum cosine similarity of the last-position logits. */
  minCosine: number;
  /** Maximum |engine - reference| relative to max |reference logit|. */
  maxRelAbsDiff: number;
  /** Greedy tokens that must match from the start; Infinity = all of them. */
  minGreedyPrefix: number;
}

export const F32_TOLERANCE: ParityTolerance = { minCosine: 0.99999, maxRelAbsDiff: 1e-3, minGreedyPrefix: Infinity };

export interface ParityMetrics {
  cosine: number;
  maxAbsDiff: number;
  maxAbsReference: number;
  top1Match: boolean;
  /** How many of the reference's top-5 ids are in the engine's top 5. */
  top5Overlap: number;
  greedyPrefix: number;
  greedyLength: number;
}

export interface ParityVerdict {
  pass: boolean;
  failures: string[];
}

export function topK(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, k);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  // Two all-zero vectors are not "identical": zero logits are the classic tied-weights failure.
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

export function commonPrefix(a: number[], b: number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

export function compareWithReference(
  engineLogits: ArrayLike<number>,
  referenceLogits: ArrayLike<number>,
  engineTokens: number[],
  referenceTokens: number[],
): ParityMetrics {
  if (engineLogits.length !== referenceLogits.length) {
    throw new Error(`logit vectors differ in length: engine ${engineLogits.length}, reference ${referenceLogits.length}`);
  }
  let maxAbsDiff = 0;
  let maxAbsReference = 0;
  for (let i = 0; i < engineLogits.length; i++) {
    const d = Math.abs(engineLogits[i] - referenceLogits[i]);
    if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? NaN : d;
    maxAbsReference = Math.max(maxAbsReference, Math.abs(referenceLogits[i]));
    if (Number.isNaN(maxAbsDiff)) break;
  }
  const engineTop = topK(engineLogits, 5);
  const referenceTop = topK(referenceLogits, 5);
  return {
    cosine: cosine(engineLogits, referenceLogits),
    maxAbsDiff,
    maxAbsReference,
    top1Match: engineTop[0] === referenceTop[0],
    top5Overlap: referenceTop.filter((id) => engineTop.includes(id)).length,
    greedyPrefix: commonPrefix(engineTokens, referenceTokens),
    greedyLength: referenceTokens.length,
  };
}

export function judgeParity(m: ParityMetrics, tol: ParityTolerance): ParityVerdict {
  const failures: string[] = [];
  if (!(m.cosine >= tol.minCosine)) failures.push(`cosine ${m.cosine.toPrecision(8)} < ${tol.minCosine}`);
  const limit = tol.maxRelAbsDiff * m.maxAbsReference;
  if (!(m.maxAbsDiff <= limit)) {
    failures.push(`max |Δ| ${m.maxAbsDiff.toExponential(3)} > ${tol.maxRelAbsDiff} × max |logit| (${limit.toExponential(3)})`);
  }
  if (!m.top1Match) failures.push('top-1 token differs');
  const needed = Math.min(tol.minGreedyPrefix, m.greedyLength);
  if (m.greedyPrefix < needed) {
    failures.push(`greedy tokens diverge at ${m.greedyPrefix} of ${m.greedyLength} (need ${needed} identical)`);
  }
  return { pass: failures.length === 0, failures };
}
