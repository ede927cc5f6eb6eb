import { describe, expect, it } from 'vitest';
import { commonPrefix, compareWithReference, cosine, F32_TOLERANCE, judgeParity, topK } from '../../bench/reference/compare.js';
import { parseReference, REFERENCE_SCHEMA } from '../../bench/reference/reference-file.js';

describe('parity metrics', () => {
  const ref = [1.5, -2, 0.25, 3, -0.5, 2.75, 0];

  it('identical logits and tokens pass with cosine 1', () => {
    const m = compareWithReference(ref, ref, [3, 5, 1], [3, 5, 1]);
    expect(m.cosine).toBeCloseTo(1, 12);
    expect(m.maxAbsDiff).toBe(0);
    expect(m.maxAbsReference).toBe(3);
    expect(m.top5Overlap).toBe(5);
    expect(m.greedyPrefix).toBe(3);
    expect(judgeParity(m, F32_TOLERANCE)).toEqual({ pass: true, failures: [] });
  });

  it('all-zero logits (the tied lm_head failure) never pass', () => {
    const zeros = ref.map(() => 0);
    const m = compareWithReference(zeros, ref, [0, 0], [3, 5]);
    expect(m.cosine).toBe(0);
    const v = judgeParity(m, F32_TOLERANCE);
    expect(v.pass).toBe(false);
    expect(v.failures.join(' ')).toMatch(/cosine/);
    expect(v.failures.join(' ')).toMatch(/greedy tokens diverge at 0 of 2/);
  });

  it('a small error within 1e-3 of the largest logit passes, a larger one fails', () => {
    const near = ref.map((x, i) => (i === 1 ? x + 0.002 : x));
    expect(judgeParity(compareWithReference(near, ref, [1], [1]), F32_TOLERANCE).pass).toBe(true);
    const far = ref.map((x, i) => (i === 1 ? x + 0.01 : x));
    const v = judgeParity(compareWithReference(far, ref, [1], [1]), F32_TOLERANCE);
    expect(v.pass).toBe(false);
    expect(v.failures[0]).toMatch(/max \|Δ\| 1\.000e-2 > 0\.001/);
  });

  it('NaN logits fail', () => {
    const nan = ref.map((x, i) => (i === 2 ? NaN : x));
    expect(judgeParity(compareWithReference(nan, ref, [1], [1]), F32_TOLERANCE).pass).toBe(false);
  });

  it('greedy divergence is reported with its position', () => {
    const m = compareWithReference(ref, ref, [1, 2, 9, 4], [1, 2, 3, 4]);
    expect(m.greedyPrefix).toBe(2);
    expect(judgeParity(m, F32_TOLERANCE).failures).toEqual(['greedy tokens diverge at 2 of 4 (need 4 identical)']);
  });

  it('helpers: topK breaks ties by lower id, cosine, common prefix', () => {
    expect(topK([1, 3, 3, 2], 3)).toEqual([1, 2, 3]);
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(commonPrefix([1, 2, 3], [1, 2])).toBe(2);
  });

  it('rejects logits of different lengths', () => {
    expect(() => compareWithReference([1, 2], [1, 2, 3], [], [])).toThrow(/differ in length/);
  });
});

describe('reference file', () => {
  const good = {
    schema: REFERENCE_SCHEMA,
    model: 'm',
    transformers_version: '5',
    torch_version: '2',
    dtype: 'float32',
    attn_implementation: 'eager',
    cases: [{ name: 'short', prompt_text: null, prompt_ids: [1, 2], max_new_tokens: 2, last_logits: [0.5, 1], greedy_tokens: [1, 1] }],
  };

  it('accepts a well-formed file', () => {
    expect(parseReference(good, 'x.json').cases[0].prompt_ids).toEqual([1, 2]);
  });

  it('rejects a wrong schema, no cases, and malformed cases with a message naming the problem', () => {
    expect(() => parseReference({ ...good, schema: 'other' }, 'x.json')).toThrow(/x\.json .*schema is "other"/);
    expect(() => parseReference({ ...good, cases: [] }, 'x.json')).toThrow(/no cases/);
    expect(() => parseReference({ ...good, cases: [{ ...good.cases[0], prompt_ids: [] }] }, 'x.json')).toThrow(/case 0 \(short\): prompt_ids/);
    expect(() => parseReference({ ...good, cases: [{ ...good.cases[0], last_logits: ['a'] }] }, 'x.json')).toThrow(/last_logits/);
  });
});
