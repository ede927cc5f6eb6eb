// The pieces of validate that need no child process: how an exit becomes a cell status, the
// baseline comparison, and fault parsing.
import { describe, expect, it } from 'vitest';
import { perfChange } from '../../bench/validate/baseline.js';
import { cellEnv, HANG_ENV, parseInjectFaults } from '../../bench/validate/faults.js';
import { classifyExit, type Exit } from '../../bench/validate/run-cell.js';
import type { Cell, CellOutput } from '../../bench/validate/schema.js';

const output = (pass: boolean): CellOutput => ({
  case: 'short', backend: 'cpu', prompt_tokens: 8, max_new_tokens: 16, pass,
  failures: pass ? [] : ['top-1 token differs', 'greedy tokens diverge at 0 of 16 (need 16 identical)'],
  metrics: { cosine: 0.5, maxAbsDiff: 1, maxAbsReference: 2, top1Match: pass, top5Overlap: 3, greedyPrefix: 0, greedyLength: 16 },
  timings: { prompt_tokens: 8, generated_tokens: 16, ttft_ms: 1, decode_ms: 2, decode_tokens_per_s: 7500, ms_per_token: 0.13, total_ms: 3, bytes_read: 10, peak_rss_bytes: 20 },
  llama_cpp: null,
});
const exit = (e: Partial<Exit>): Exit => ({ code: null, signal: null, timedOut: false, timeoutMs: 120_000, stdout: '', stderr: '', ...e });

describe('classifyExit', () => {
  it('exit 0 with a passing result is a pass; exit 1 with a failing one a fail that keeps the failures', () => {
    expect(classifyExit(exit({ code: 0, stdout: `${JSON.stringify(output(true))}\n` }))).toMatchObject({ status: 'pass', reason: null });
    const fail = classifyExit(exit({ code: 1, stdout: JSON.stringify(output(false)) }));
    expect(fail.status).toBe('fail');
    expect(fail.reason).toBe('top-1 token differs; greedy tokens diverge at 0 of 16 (need 16 identical)');
    expect(fail.output?.failures).toHaveLength(2);
  });

  it('a signal is a crash, with the last thing the child said; so is 128+N from a wrapper', () => {
    const c = classifyExit(exit({ signal: 'SIGSEGV', stderr: 'warning\nSegmentation fault\n' }));
    expect(c).toMatchObject({ status: 'crash', reason: 'killed by SIGSEGV (last stderr: Segmentation fault)' });
    expect(classifyExit(exit({ code: 134 }))).toMatchObject({ status: 'crash', reason: 'killed by signal 6' });
  });

  it('our own kill after the timeout is a timeout, whatever the signal', () => {
    const t = classifyExit(exit({ signal: 'SIGKILL', timedOut: true, timeoutMs: 1500 }));
    expect(t).toMatchObject({ status: 'timeout', reason: 'no result within 1.5 s; its process group was killed' });
  });

  it('exit 2, a pass code without a result, or a result that contradicts the code is an error', () => {
    expect(classifyExit(exit({ code: 2, stderr: 'rabbit-bench validate cell: error: no such file\n' }))).toMatchObject({
      status: 'error', reason: 'cell exited with code 2: rabbit-bench validate cell: error: no such file',
    });
    expect(classifyExit(exit({ code: 0, stdout: 'not json' })).status).toBe('error');
    expect(classifyExit(exit({ code: 0, stdout: JSON.stringify(output(false)) })).status).toBe('error');
  });
});

describe('perfChange', () => {
  const cell = (ttft: number, rate: number | null): Cell => ({
    id: 'm/short/cpu', model: 'm', prompt: 'short', device: 'cpu', status: 'pass', reason: null, failures: [],
    prompt_tokens: 8, max_new_tokens: 16, metrics: null, perf: null, process: null, fault: null,
    timings: { ...output(true).timings, ttft_ms: ttft, decode_tokens_per_s: rate },
  });

  it('reports % change of TTFT and decode tok/s and flags decode slower than the threshold', () => {
    const p = perfChange(cell(12, 600), cell(10, 1000), 25)!;
    expect(p.ttft_change_pct).toBeCloseTo(20);
    expect(p.decode_change_pct).toBeCloseTo(-40);
    expect(p.slower).toBe(true);
    expect(perfChange(cell(10, 800), cell(10, 1000), 25)!.slower).toBe(false);
    expect(perfChange(cell(10, 2000), cell(10, 1000), 25)!.slower).toBe(false);
  });

  it('is null without timings on either side and never flags a missing decode rate', () => {
    expect(perfChange(cell(10, 500), undefined, 25)).toBeNull();
    expect(perfChange({ ...cell(10, 500), timings: null }, cell(10, 1000), 25)).toBeNull();
    expect(perfChange(cell(10, null), cell(10, 1000), 25)).toMatchObject({ decode_change_pct: null, slower: false });
  });
});

describe('fault injection (test-only)', () => {
  it('parses CELL=FAULT and refuses unknown faults', () => {
    expect([...parseInjectFaults(['a/long/cpu=abort', 'b/short/cpu=hang'])]).toEqual([['a/long/cpu', 'abort'], ['b/short/cpu', 'hang']]);
    expect(() => parseInjectFaults(['a/long/cpu=melt'])).toThrow(/FAULT one of none, boolean-mask/);
    expect(() => parseInjectFaults(['abort'])).toThrow(/expected MODEL\/PROMPT\/DEVICE=FAULT/);
  });

  it("sets the fault only in the cell's environment; none exempts a cell from a global fault", () => {
    const base = { PATH: '/bin', RABBIT_BENCH_FAULT: 'wrong-rope' };
    expect(cellEnv(undefined, base).RABBIT_BENCH_FAULT).toBe('wrong-rope');
    expect(cellEnv('none', base).RABBIT_BENCH_FAULT).toBe('none');
    expect(cellEnv('abort', { PATH: '/bin' }).RABBIT_BENCH_FAULT).toBe('abort');
    const hang = cellEnv('hang', base);
    expect(hang[HANG_ENV]).toBe('1');
    expect(hang.RABBIT_BENCH_FAULT).toBe('wrong-rope');
  });
});
