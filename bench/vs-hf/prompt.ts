// The prompt both the engine and transformers get: deterministic token ids spread over the whole
// vocabulary, so the embedding rows read are not a handful of hot ones. Trained text would mean
// nothing to random weights; only the count and the positions matter for the timings.

/** Numerical Recipes' 32-bit LCG; the top bits pick the token (the low bits of an LCG cycle fast). */
export function lcgPromptIds(count: number, vocabSize: number, seed = 1): number[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`prompt length must be a whole number >= 1, got ${count}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new Error(`vocab size must be a whole number >= 1, got ${vocabSize}`);
  let state = seed >>> 0;
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    ids.push(Math.floor((state / 2 ** 32) * vocabSize));
  }
  return ids;
}
