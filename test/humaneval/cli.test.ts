// `rabbit-bench humaneval` without the engine: the oracle, given completions (hostile ones too),
// HumanEval+, result files, --json, --resume and bad options.
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { humanevalReport } from '../../bench/humaneval/report.js';
import { HumanevalResultSchema } from '../../bench/humaneval/schema.js';
import { render } from '../../bench/report/print.js';
import { DATASETS_SUITE, HAS_DATASETS, HUMANEVAL, HUMANEVAL_PLUS, humaneval, processesWith, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

function completionsFile(dir: string, rows: [string, string][]): string {
  const path = join(dir, 'samples.jsonl');
  writeFileSync(path, rows.map(([task_id, completion]) => JSON.stringify({ task_id, completion })).join('\n'));
  return path;
}

describe.skipIf(!HAS_DATASETS)(`humaneval CLI (${DATASETS_SUITE})`, () => {
  it('--oracle passes all 164 HumanEval problems; --json prints one document; result files are written beside the records', async () => {
    const out = tempDir();
    const r = await humaneval(['--dataset', HUMANEVAL, '--oracle', '--jobs', '2', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]);
    expect(doc.summary).toMatchObject({ problems: 164, samples: 164, passed: 164, failed: 0, timeout: 0, error: 0, survivors: 0 });
    expect(doc.summary.pass_at_k['1']).toBe(1);
    expect(doc.schema).toBe('rabbit-bench/humaneval@1');
    expect(doc.sandbox.limits.timeout_s).toBe(3);
    expect(HumanevalResultSchema.parse(doc)).toEqual(doc);
    const stem = doc.records_file.replace(/\.jsonl$/, '');
    expect(readFileSync(doc.records_file, 'utf8').trim().split('\n')).toHaveLength(165); // header + 164
    const saved = HumanevalResultSchema.parse(JSON.parse(readFileSync(`${stem}.json`, 'utf8')));
    expect(saved).toEqual(doc);
    const csv = readFileSync(`${stem}.csv`, 'utf8');
    expect(csv.trim().split('\n')).toHaveLength(165);
    expect(csv.split('\n')[1]).toMatch(/^HumanEval\/0,0,passed,,\d/);
    const md = readFileSync(`${stem}.md`, 'utf8');
    expect(md).toMatch(/passed 164\/164/);
    expect(md).toContain('| passed | 164 | 100.0% |');
    // The saved JSON alone gives back the same report.
    expect(render(humanevalReport(saved), 'md')).toBe(md);
    expect(render(humanevalReport(saved), 'csv')).toBe(csv);
  });

  it('--format table and md show the same results; --format csv one row per sample; no result files with --no-save', async () => {
    const dir = tempDir();
    const file = completionsFile(dir, [['HumanEval/0', '    return False\n'], ['HumanEval/0', '    return True\n']]);
    const args = ['--dataset', HUMANEVAL, '--completions', file, '--problems', 'HumanEval/0', '--out', dir, '--no-save'];
    const table = await humaneval([...args, '--format', 'table']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^HumanEval\.jsonl\.gz · completions from .*samples\.jsonl · 1 problems, 2 samples\npassed 0\/2 · pass@1 0\.0%/);
    expect(table.stdout).toMatch(/│ failed\s*│ 2\s*│ 100\.0%\s*│/);
    expect(table.stdout).toMatch(/│ AssertionError\s*│ 2\s*│/);
    const md = await humaneval([...args, '--format', 'md']);
    expect(md.stdout).toMatch(/^## rabbit-bench humaneval\n/);
    expect(md.stdout).toContain('| failed | 2 | 100.0% |');
    expect(md.stdout).toContain('| AssertionError | 2 |');
    const csv = await humaneval([...args, '--format', 'csv']);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^task_id,sample,status,error,exec_ms,/);
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual(['HumanEval/0,0,failed', 'HumanEval/0,1,failed']);
    expect(readdirSync(dir).filter((f) => /\.(json|csv|md)$/.test(f))).toEqual([]);
  });

  it('--plus --oracle passes all 164 HumanEval+ problems on base and plus inputs', async () => {
    const r = await humaneval(['--dataset', HUMANEVAL_PLUS, '--plus', '--oracle', '--jobs', '2', '--out', tempDir(), '--json']);
    const doc = JSON.parse(r.stdout);
    const failures = doc.records.filter((x: { status: string }) => x.status !== 'passed').map((x: { task_id: string; error: string }) => `${x.task_id}: ${x.error}`);
    expect(failures).toEqual([]);
    expect(doc.summary).toMatchObject({ passed: 164, passed_base: 164 });
    expect(doc.records.every((x: { plus: { passed: number; total: number } }) => x.plus.passed === x.plus.total && x.plus.total > 0)).toBe(true);
    expect(r.code).toBe(0);
  }, 240_000);

  it('--plus compares outputs: wrong ones fail with the input, and a failure on an input outside the contract says so', async () => {
    const dir = tempDir();
    const file = completionsFile(dir, [
      ['HumanEval/0', '    return True\n'],
      ['HumanEval/0', '    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n'],
      ['HumanEval/116', '    assert all(x >= 0 for x in arr)\n    return sorted(sorted(arr), key=lambda x: bin(x)[2:].count("1"))\n'],
    ]);
    const r = await humaneval(['--dataset', HUMANEVAL_PLUS, '--plus', '--completions', file, '--problems', 'HumanEval/0,HumanEval/116', '--out', dir, '--json']);
    const doc = JSON.parse(r.stdout);
    const [wrong, right, outside] = doc.records;
    expect(wrong.status).toBe('failed');
    expect(wrong.error).toMatch(/^base input #\d+ .*returned True, expected False/);
    expect(right.status).toBe('passed');
    expect(outside.status).toBe('failed');
    expect(outside.error).toMatch(/this input breaks the problem's contract/);
    expect(doc.summary.pass_at_k['1']).toBeCloseTo(0.25, 12); // (1/2 + 0) / 2
  });

  it('hostile completions end failed or timed out, the run goes on, no file is harmed and no process is left', async () => {
    const dir = tempDir();
    const sentinel = join(dir, 'sentinel.txt');
    writeFileSync(sentinel, 'keep me\n');
    chmodSync(dir, 0o755);
    const marker = `${41 + Math.random()}`.slice(0, 12);
    // Past the guard (posix.unlink) only when running as root, where the sandbox drops to another
    // user; otherwise the program runs as us and only the guard (os.remove) stands in its way.
    const remove = process.getuid?.() === 0 ? 'import posix\n    posix.unlink' : 'import os\n    os.remove';
    const file = completionsFile(dir, [
      ['HumanEval/1', '    while True:\n        pass\n'],
      ['HumanEval/2', `    import posix\n    for i in range(64):\n        if posix.fork() == 0:\n            posix.execv("/bin/sleep", ["sleep", "${marker}"])\n    return 0\n`],
      ['HumanEval/3', '    x = bytearray(10 * 2**30)\n    return False\n'],
      ['HumanEval/4', `    ${remove}(${JSON.stringify(sentinel)})\n    return 0.0\n`],
      ['HumanEval/5', '    import socket\n    socket.create_connection(("1.1.1.1", 80), timeout=1)\n    return []\n'],
      ['HumanEval/6', '    return [2]\nimport sys\nsys.exit(0)\n'],
      ['HumanEval/7', '    return [s for s in strings if substring in s]\n'],
    ]);
    const started = Date.now();
    const r = await humaneval(['--dataset', HUMANEVAL, '--completions', file, '--timeout', '2', '--jobs', '2', '--out', join(dir, 'results'), '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const status = Object.fromEntries(doc.records.map((x: { task_id: string; status: string }) => [x.task_id, x.status]));
    expect(status).toEqual({
      'HumanEval/1': 'timeout', 'HumanEval/2': 'failed', 'HumanEval/3': 'failed', 'HumanEval/4': 'failed',
      'HumanEval/5': doc.sandbox.network_isolated ? 'failed' : status['HumanEval/5'], 'HumanEval/6': 'failed', 'HumanEval/7': 'passed',
    });
    expect(doc.records.find((x: { task_id: string }) => x.task_id === 'HumanEval/6').error).toMatch(/SystemExit: 0/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(readFileSync(sentinel, 'utf8')).toBe('keep me\n');
    expect(processesWith(marker)).toEqual([]);
    expect(doc.summary.survivors).toBe(0);
    expect(r.stderr).toMatch(/^rabbit-bench: warning: 157 selected problem\(s\) have no completion/m);
  });

  it('several samples per problem give pass@k; --resume skips what is done and refuses other settings', async () => {
    const dir = tempDir();
    const file = completionsFile(dir, [
      ['HumanEval/0', '    return False\n'],
      ['HumanEval/0', '    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n'],
      ['HumanEval/0', '    return True\n'],
      ['HumanEval/2', '    return number % 1.0\n'],
      ['HumanEval/2', '    return 0.0\n'],
      ['HumanEval/2', '    return 1.0\n'],
    ]);
    const first = await humaneval(['--dataset', HUMANEVAL, '--completions', file, '--problems', 'HumanEval/0', '--out', dir, '--json', '--no-save']);
    const records = JSON.parse(first.stdout).records_file;
    expect(existsSync(records.replace(/\.jsonl$/, '.json'))).toBe(false);
    const again = await humaneval(['--dataset', HUMANEVAL, '--completions', file, '--problems', 'HumanEval/0,HumanEval/2', '--resume', records, '--json']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/3 sample\(s\) done, 3 to go/);
    const doc = JSON.parse(again.stdout);
    expect(doc.summary).toMatchObject({ problems: 2, samples: 6, passed: 2 });
    expect(doc.summary.pass_at_k['1']).toBeCloseTo(1 / 3, 12);
    expect(readFileSync(records, 'utf8').trim().split('\n')).toHaveLength(7);
    const other = await humaneval(['--dataset', HUMANEVAL, '--completions', file, '--timeout', '5', '--resume', records]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/other settings: limits was/);
  });

  it('bad option combinations exit 2 with a clear message', async () => {
    for (const [args, message] of [
      [[], /exactly one of --model, --oracle or --completions/],
      [['--oracle', '--completions', 'x.jsonl'], /exactly one of .* \(got --oracle, --completions\)/],
      [['--oracle', '--chat'], /--chat only apply with --model/],
      [['--model', 'm', '--samples', '3'], /--samples > 1 needs --temperature/],
      [['--model', 'm', '--temperature', '0.8', '--hf-compare'], /greedy completions/],
      [['--oracle', '--jobs', '0'], /--jobs must be a whole number >= 1/],
    ] as const) {
      const r = await humaneval(['--dataset', HUMANEVAL, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
