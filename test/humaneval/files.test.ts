// The dataset reader and the records file: what a run reads and what makes it resumable.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadProblems, selectProblems } from '../../bench/humaneval/dataset.js';
import { RecordsFile, type SampleRecord } from '../../bench/humaneval/records.js';
import { useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const problem = (id: string) => ({ task_id: id, prompt: 'def f():\n', canonical_solution: '    return 1\n', test: 'def check(c):\n    assert c() == 1\n', entry_point: 'f' });

describe('dataset', () => {
  it('reads JSONL and JSONL.GZ alike, and selects by id (in the order given) and limit', () => {
    const dir = tempDir();
    const text = `${[problem('T/0'), problem('T/1'), problem('T/2')].map((p) => JSON.stringify(p)).join('\n')}\n\n`;
    writeFileSync(join(dir, 'd.jsonl'), text);
    writeFileSync(join(dir, 'd.jsonl.gz'), gzipSync(text));
    const plain = loadProblems(join(dir, 'd.jsonl'), false);
    expect(loadProblems(join(dir, 'd.jsonl.gz'), false)).toEqual(plain);
    expect(plain.map((p) => p.task_id)).toEqual(['T/0', 'T/1', 'T/2']);
    expect(selectProblems(plain, { ids: ['T/2', 'T/0'] }).map((p) => p.task_id)).toEqual(['T/2', 'T/0']);
    expect(selectProblems(plain, { limit: 2 }).map((p) => p.task_id)).toEqual(['T/0', 'T/1']);
    expect(() => selectProblems(plain, { ids: ['T/9'] })).toThrow(/not in the dataset: T\/9/);
  });

  it('names the file and line of a bad record, and says what --plus needs', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.jsonl'), `${JSON.stringify(problem('T/0'))}\n{"task_id": "T/1"}\n`);
    expect(() => loadProblems(join(dir, 'bad.jsonl'), false)).toThrow(/bad\.jsonl:2: .*prompt/);
    writeFileSync(join(dir, 'base.jsonl'), `${JSON.stringify(problem('T/0'))}\n`);
    expect(() => loadProblems(join(dir, 'base.jsonl'), true)).toThrow(/--plus needs a HumanEval\+ dataset/);
    writeFileSync(join(dir, 'twice.jsonl'), `${JSON.stringify(problem('T/0'))}\n${JSON.stringify(problem('T/0'))}\n`);
    expect(() => loadProblems(join(dir, 'twice.jsonl'), false)).toThrow(/T\/0 appears twice/);
  });

  it('keeps HumanEval+ inputs as the dataset wrote them, so 1.0 stays a float for Python', () => {
    const dir = tempDir();
    const line = `{"task_id":"T/0","prompt":"p","canonical_solution":"c","test":"t","entry_point":"f","base_input":[[1.0]],"plus_input":[[2.0],[3]],"atol":0,"contract":""}`;
    writeFileSync(join(dir, 'plus.jsonl'), `${line}\n`);
    const [p] = loadProblems(join(dir, 'plus.jsonl'), true);
    expect(p.plus).toMatchObject({ line, base_count: 1, plus_count: 2, atol: 0 });
  });
});

const sample = (task: string, n: number): SampleRecord => ({
  type: 'sample', task_id: task, sample: n, status: 'passed', error: null, completion: '    return 1\n', exec_ms: 12,
  base: null, plus: null, survivors: 0, generation: null, hf: null, finished_at: new Date().toISOString(),
});

describe('records file', () => {
  const settings = { dataset: '/d.jsonl', limits: { timeout_ms: 3000 } };

  it('resumes with the finished samples, after dropping a line torn by a crash', () => {
    const file = RecordsFile.create(tempDir(), 'run', settings);
    const path = file.path;
    file.append(sample('T/0', 0));
    file.append(sample('T/1', 0));
    file.close();
    appendFileSync(path, '{"type":"sample","task_id":"T/2","sam'); // cut off mid-write
    const warnings: string[] = [];
    const { file: again, done } = RecordsFile.resume(path, settings, (w) => warnings.push(w));
    expect(done.map((r) => r.task_id)).toEqual(['T/0', 'T/1']);
    expect(warnings.join()).toMatch(/incomplete last line/);
    again.append(sample('T/2', 0));
    again.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[3]).task_id).toBe('T/2');
  });

  it('refuses to resume with other settings (exit 2); a new run never takes over an existing one', () => {
    const dir = tempDir();
    const first = RecordsFile.create(dir, 'run', settings);
    first.close();
    const path = first.path;
    expect(path).toBe(join(dir, 'run.jsonl'));
    expect(() => RecordsFile.resume(path, { ...settings, limits: { timeout_ms: 5000 } }, () => {})).toThrow(/limits was \{"timeout_ms":3000\}, now \{"timeout_ms":5000\}/);
    try {
      RecordsFile.resume(path, { ...settings, limits: { timeout_ms: 5000 } }, () => {});
    } catch (err) {
      expect((err as { exitCode?: number }).exitCode).toBe(2);
    }
    const before = readFileSync(path, 'utf8');
    const second = RecordsFile.create(dir, 'run', settings);
    second.close();
    expect(second.path).toBe(join(dir, 'run-2.jsonl'));
    expect(readFileSync(path, 'utf8')).toBe(before);
    writeFileSync(path, 'not a records file\n');
    expect(() => RecordsFile.resume(path, settings, () => {})).toThrow(/not a rabbit-bench humaneval records file/);
  });
});
