// --shard K/N splits a humaneval or validate run into N disjoint parts; `rabbit-bench merge`
// puts them back together into the result the unsharded run gives, and refuses parts that are
// not one run's.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeReport } from '../../bench/merge/report.js';
import { render } from '../../bench/report/print.js';
import { inShard, parseShard } from '../../bench/shard.js';
import { runCli } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp.js';
import { DATASETS_SUITE, HAS_DATASETS, HUMANEVAL } from '../humaneval/helpers.js';
import { runValidate } from '../validate/helpers.js';

const temp = tempDirs();

function resultIn(dir: string, pattern: RegExp): string {
  const files = readdirSync(dir).filter((f) => pattern.test(f));
  expect(files).toHaveLength(1);
  return join(dir, files[0]);
}

/** The summary without what depends on timing. */
function comparable(summary: Record<string, unknown>): Record<string, unknown> {
  const { exec_s: _exec, wall_s: _wall, ...rest } = summary;
  return rest;
}

describe('--shard K/N', () => {
  it('parts are disjoint, cover the run, and a bad shard is refused by name', () => {
    const covered = Array.from({ length: 23 }, (_, i) => [1, 2, 3, 4].filter((k) => inShard(i, { index: k, count: 4 })));
    expect(covered.every((ks) => ks.length === 1)).toBe(true);
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
    for (const bad of ['0/3', '4/3', '1/0', '1', 'a/b', '-1/2']) expect(() => parseShard(bad)).toThrow(/--shard must be K\/N/);
  });
});

describe.skipIf(!HAS_DATASETS)(`humaneval --shard and merge (${DATASETS_SUITE})`, () => {
  it('three shards merged give the unsharded summary and records; mismatched parts are refused', async () => {
    const dir = temp('rb-shard-');
    const samples = join(dir, 'samples.jsonl');
    // Some pass, some fail, one is missing: the summary has something to get wrong.
    const rows = Array.from({ length: 14 }, (_, i) => ({ task_id: `HumanEval/${i}`, completion: i % 3 === 0 ? '    return None\n' : 'ORACLE' }));
    const oracle = await runCli(['humaneval', '--dataset', HUMANEVAL, '--oracle', '--limit', '14', '--no-save', '--out', dir, '--json']);
    expect(oracle.status, oracle.stderr).toBe(0);
    const canonical = new Map((JSON.parse(oracle.stdout).records as { task_id: string; completion: string }[]).map((r) => [r.task_id, r.completion]));
    writeFileSync(samples, rows.filter((r) => r.task_id !== 'HumanEval/5').map((r) => JSON.stringify({ ...r, completion: r.completion === 'ORACLE' ? canonical.get(r.task_id) : r.completion })).join('\n'));

    const args = ['humaneval', '--dataset', HUMANEVAL, '--completions', samples, '--limit', '14', '--jobs', '2'];
    const whole = await runCli([...args, '--out', join(dir, 'whole'), '--json']);
    expect(whole.status, whole.stderr).toBe(0);
    for (const k of [1, 2, 3]) {
      const part = await runCli([...args, '--shard', `${k}/3`, '--out', join(dir, 'parts')]);
      expect(part.status, part.stderr).toBe(0);
    }
    const parts = [1, 2, 3].map((k) => resultIn(join(dir, 'parts'), new RegExp(`shard${k}of3\\.json$`)));
    const merged = await runCli(['merge', ...parts.reverse(), '--out', join(dir, 'merged'), '--json']);
    expect(merged.status, merged.stderr).toBe(0);
    const m = JSON.parse(merged.stdout);
    const w = JSON.parse(whole.stdout);
    expect(comparable(m.summary)).toEqual(comparable(w.summary));
    expect(m.summary).toMatchObject({ problems: 13, samples: 13, failed: 5, passed: 8 });
    const key = (r: { task_id: string; status: string; error: string | null }) => [r.task_id, r.status, r.error];
    expect(m.records.map(key)).toEqual(w.records.map(key));
    expect(m.parts.map((p: { shard: { index: number } }) => p.shard.index)).toEqual([1, 2, 3]);
    expect(m.settings.shard).toBeNull();
    const saved = resultIn(join(dir, 'merged'), /-merge-humaneval-3-shards\.json$/);
    expect(JSON.parse(readFileSync(saved, 'utf8'))).toEqual(m);
    // The saved Markdown is the report the saved JSON alone rebuilds.
    expect(readFileSync(saved.replace(/\.json$/, '.md'), 'utf8')).toBe(render(mergeReport(m), 'md'));
    // The CSV holds the merged records, one row per sample, as humaneval's own does.
    const csv = readFileSync(saved.replace(/\.json$/, '.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^task_id,sample,status,error,/);
    expect(csv.slice(1).map((line) => line.split(',').slice(0, 3).join(','))).toEqual(m.records.map((r: { task_id: string; sample: number; status: string }) => `${r.task_id},${r.sample},${r.status}`));
    const table = await runCli(['merge', ...parts, '--no-save']);
    expect(table.stdout).toMatch(/^merged 3 shards\n/);
    expect(table.stdout).toMatch(/Parts\n┌/);
    for (const p of parts) expect(table.stdout).toContain(p);

    const missing = await runCli(['merge', parts[0], parts[1], '--no-save']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/shard\(s\) 1\/3 missing/);
    const twice = await runCli(['merge', parts[0], parts[0], parts[1], '--no-save']);
    expect(twice.stderr).toMatch(/shard 3\/3 is given twice/);
    const unsharded = await runCli(['merge', resultIn(join(dir, 'whole'), /\.json$/), '--no-save']);
    expect(unsharded.stderr).toMatch(/is not a sharded run/);
    const other = JSON.parse(readFileSync(parts[1], 'utf8'));
    other.settings.plus = true;
    const otherFile = join(dir, 'other.json');
    writeFileSync(otherFile, JSON.stringify(other));
    const mixed = await runCli(['merge', parts[0], otherFile, parts[2], '--no-save']);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toMatch(/are not parts of one run: settings\.plus differs/);
  });
});

describe('validate --shard and merge', () => {
  it('three shards of the fixture matrix merged give the unsharded cells and summary', async () => {
    const dir = temp('rb-shard-validate-');
    const whole = await runValidate(['--no-live', '--json', '--no-save', '--fixtures', 'llama-tied-gqa-f32,qwen2-gqa-tied-bf16']);
    expect(whole.status, whole.stderr).toBe(0);
    for (const k of [1, 2, 3]) {
      const part = await runValidate(['--no-live', '--fixtures', 'llama-tied-gqa-f32,qwen2-gqa-tied-bf16', '--shard', `${k}/3`, '--out', dir]);
      expect(part.status, part.stderr).toBe(0);
    }
    const parts = readdirSync(dir).filter((f) => /shard\dof3\.json$/.test(f)).map((f) => join(dir, f));
    expect(parts).toHaveLength(3);
    const merged = await runCli(['merge', ...parts, '--no-save', '--json']);
    expect(merged.status, merged.stderr).toBe(0);
    const m = JSON.parse(merged.stdout);
    const w = JSON.parse(whole.stdout);
    expect(m.cells.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual(w.cells.map((c: { id: string; status: string }) => [c.id, c.status]));
    expect(m.summary).toEqual(w.summary);
    expect(m.models.map((x: { name: string }) => x.name)).toEqual(w.models.map((x: { name: string }) => x.name));
    expect(m.pass).toBe(true);
    const md = await runCli(['merge', ...parts, '--no-save', '--format', 'md']);
    expect(md.status, md.stderr).toBe(0);
    expect(md.stdout).toBe(render(mergeReport(m), 'md'));
    expect(md.stdout).toMatch(/^## rabbit-bench merge: validate, 3 shards\n\nmerged 3 shards  \nreferences: [^\n]+\n\n### Cells \(model × prompt · device\)\n/);
    expect(md.stdout).toMatch(/validate PASS: \d+ cells/);
    const shards = [...md.stdout.matchAll(/^\| (\d)\/3 \| (\S+) \|/gm)].map((x) => [Number(x[1]), x[2]]);
    expect(shards.map(([k]) => k)).toEqual([1, 2, 3]);
    expect(shards.map(([, file]) => file).sort()).toEqual([...parts].sort());
    const twice = await runCli(['merge', ...parts, resultIn(dir, /shard1of3\.json$/), '--no-save']);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/shard 1\/3 is given twice/);
  });
});
