import { describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../bench/humaneval/records.js';
import { passAtK, passAtKTable, summarize } from '../../bench/humaneval/score.js';

/** 1 - C(n-c, k) / C(n, k) with exact binomials, to check the product form against. */
function byBinomials(n: number, c: number, k: number): number {
  const choose = (a: number, b: number): number => (b < 0 || b > a ? 0 : b === 0 ? 1 : (choose(a - 1, b - 1) * a) / b);
  return 1 - choose(n - c, k) / choose(n, k);
}

function record(task: string, sample: number, status: SampleRecord['status'], extra: Partial<SampleRecord> = {}): SampleRecord {
  return {
    type: 'sample', task_id: task, sample, status, error: status === 'passed' ? null : 'AssertionError', completion: '', exec_ms: 10,
    base: null, plus: null, survivors: 0, generation: null, hf: null, finished_at: '', ...extra,
  };
}

describe('pass@k', () => {
  it('is the unbiased estimator 1 - C(n-c,k)/C(n,k)', () => {
    for (const [n, c, k] of [[10, 3, 1], [10, 3, 5], [20, 1, 10], [200, 37, 100], [5, 0, 1], [5, 5, 5]]) {
      expect(passAtK(n, c, k)).toBeCloseTo(byBinomials(n, c, k), 12);
    }
    expect(passAtK(10, 3, 1)).toBeCloseTo(0.3, 12);
    expect(passAtK(10, 8, 3)).toBe(1); // n - c < k: every draw of k holds a pass
  });

  it('averages over problems, only for k every problem has samples for', () => {
    expect(passAtKTable([{ n: 1, c: 1 }, { n: 1, c: 0 }])).toEqual({ 1: 0.5 });
    const t = passAtKTable([{ n: 10, c: 2 }, { n: 10, c: 0 }]);
    expect(Object.keys(t)).toEqual(['1', '10']);
    expect(t['1']).toBeCloseTo(0.1, 12);
    expect(t['10']).toBeCloseTo(0.5, 12);
  });
});

describe('summary', () => {
  it('counts statuses, pass@k per problem, error kinds and base-only passes', () => {
    const records = [
      record('A', 0, 'passed', { base: { passed: 3, total: 3 }, plus: { passed: 9, total: 9 } }),
      record('A', 1, 'failed', { base: { passed: 3, total: 3 }, plus: { passed: 8, total: 9 } }),
      record('B', 0, 'timeout', { error: 'timed out after 3 s' }),
      record('B', 1, 'error', { error: 'engine: the engine process crashed (SIGABRT)' }),
    ];
    const s = summarize(records, { plus: true, wallMs: 1500 });
    expect(s).toMatchObject({ problems: 2, samples: 4, passed: 1, failed: 1, timeout: 1, error: 1, passed_base: 2, wall_s: 1.5 });
    expect(s.pass_at_k['1']).toBeCloseTo(0.25, 12);
    expect(s.pass_at_k_base!['1']).toBeCloseTo(0.5, 12);
    expect(s.error_kinds.map((e) => e.kind)).toEqual(expect.arrayContaining(['AssertionError', 'timeout', 'engine']));
    expect(s.generation).toBeNull();
  });
});
