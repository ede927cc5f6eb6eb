// `rabbit-bench validate` end to end on the fixtures: the matrix passes against the goldens, a
// broken engine fails its cells, a crash or a hang stays in its own cell, and the JSON contract.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPython, pythonProblem } from '../../bench/reference/live.js';
import { SUPPORTED_ARCHITECTURES } from '../../bench/model/types.js';
import { render } from '../../bench/report/print.js';
import { FIXTURE_NAMES } from '../../bench/validate/models.js';
import { validateReport } from '../../bench/validate/render.js';
import { ValidateFileSchema, type ValidateFile } from '../../bench/validate/schema.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { parseJsonRun, processesInGroup, runValidate } from './helpers.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';


let work: string;
let fixtureDirs: Record<string, string>;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'rb-validate-test-'));
  fixtureDirs = buildFixtures(TEST_FIXTURES_DIR);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('validate on the fixtures (golden references)', () => {
  let saved: string;
  let file: ValidateFile;

  it('every fixture × short/long prompt × cpu passes; one JSON document; the result files hold the same document and report', async () => {
    const out = join(work, 'results');
    const r = await runValidate(['--no-live', '--json', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    file = parseJsonRun(r);
    expect(file.pass).toBe(true);
    expect(file.settings.reference_mode).toBe('golden');
    expect(file.models.map((m) => m.name)).toEqual([...FIXTURE_NAMES]);
    expect(new Set(file.models.map((m) => m.architecture))).toEqual(new Set(SUPPORTED_ARCHITECTURES));
    expect(file.cells).toHaveLength(FIXTURE_NAMES.length * 2);
    expect(file.summary).toMatchObject({ total: 2 * FIXTURE_NAMES.length, pass: 2 * FIXTURE_NAMES.length, fail: 0, crash: 0, timeout: 0, error: 0, skipped: 0, unavailable: 0 });
    for (const m of file.models) {
      expect(m.reference.source).toBe('golden');
      expect(m.prompts.map((p) => [p.name, p.tokens])).toEqual([['short', 8], ['long', 512]]);
    }
    for (const c of file.cells) {
      expect(c.id).toBe(`${c.model}/${c.prompt}/${c.device}`);
      expect(c.status, `${c.id}: ${c.reason}`).toBe('pass');
      expect(c.prompt_tokens).toBe(c.prompt === 'short' ? 8 : 512);
      expect(c.metrics!.greedyPrefix).toBe(16);
      expect(c.timings!.ttft_ms).toBeGreaterThan(0);
      expect(c.timings!.decode_tokens_per_s).toBeGreaterThan(0);
      expect(c.process!.exit_code).toBe(0);
    }
    expect(file.environment?.machine_fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(file.run.command).toContain('validate');

    const names = readdirSync(out).sort();
    expect(names.map((n) => n.replace(/^\d{8}-\d{6}-/, ''))).toEqual(['validate-fixtures.csv', 'validate-fixtures.json', 'validate-fixtures.md']);
    saved = join(out, names[1]);
    const doc = ValidateFileSchema.parse(JSON.parse(readFileSync(saved, 'utf8')));
    expect(doc).toEqual(file);
    // The saved JSON alone gives back the saved Markdown and CSV.
    const md = readFileSync(join(out, names[2]), 'utf8');
    expect(md).toMatch(/^## rabbit-bench validate\n/);
    expect(md).toMatch(/\| llama-tied-gqa-f32<br>ref: golden \| \S+<br>float32 \| pass<br>[\d.]+ ms · \d+ tok\/s \|/);
    expect(render(validateReport(doc), 'md')).toBe(md);
    const csv = readFileSync(join(out, names[0]), 'utf8');
    expect(csv.split('\n')[0]).toMatch(/^id,model,prompt,device,status,reason,prompt_tokens,cosine,/);
    expect(csv.trim().split('\n')).toHaveLength(1 + file.cells.length);
    expect(render(validateReport(doc), 'csv')).toBe(csv);
  });

  it('prints one table with a column per prompt × device, and compares with a baseline', async () => {
    expect(saved, 'needs the previous test').toBeDefined();
    const r = await runValidate(['--no-live', '--no-save', '--fixtures', 'llama-tied-gqa-f32,mistral-mqa-swa-f16', '--baseline', saved]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/short \(8\) · cpu/);
    expect(r.stdout).toMatch(/long \(512\) · cpu/);
    expect(r.stdout).toMatch(/llama-tied-gqa-f32/);
    expect(r.stdout).toMatch(/vs base: TTFT [+−]\d+% · tok\/s [+−]\d+%/);
    expect(r.stdout).toMatch(/vs baseline .*: 4 cells compared/);
    expect(r.stdout).toMatch(/informational/);
    expect(r.stdout).toMatch(/validate PASS: 4 cells · 4 pass/);
    expect(r.stderr).toMatch(/\[4\/4\] mistral-mqa-swa-f16\/long\/cpu: pass/);
  });

  it('flags cells whose decode is slower than the baseline by more than --perf-threshold; only --fail-on-perf fails on it', async () => {
    expect(file, 'needs the first test').toBeDefined();
    // A baseline 100× faster than anything this machine does.
    const fast = { ...file, cells: file.cells.map((c) => ({ ...c, timings: { ...c.timings!, decode_tokens_per_s: c.timings!.decode_tokens_per_s! * 100 } })) };
    const baseline = join(work, 'fast-baseline.json');
    writeFileSync(baseline, JSON.stringify(fast));
    const args = ['--no-live', '--no-save', '--fixtures', 'qwen2-gqa-tied-bf16', '--baseline', baseline];
    const warned = await runValidate(args);
    expect(warned.status, warned.stderr).toBe(0);
    expect(warned.stdout).toMatch(/2 cells compared, 2 with decode more than 25% slower/);
    // 100× the first run's speed is −99% when this run is as fast, −100% (rounded) when the
    // machine is busier than during the first run.
    expect(warned.stdout).toMatch(/SLOWER qwen2-gqa-tied-bf16\/long\/cpu: decode \d+ → \d+ tok\/s \(−(9\d|100)%\)/);
    const failed = await runValidate([...args, '--fail-on-perf', '--json']);
    expect(failed.status).toBe(1);
    const result = parseJsonRun(failed);
    expect(result.summary).toMatchObject({ pass: 2, perf_warnings: 2 });
    expect(result.pass).toBe(false);
    expect(result.cells[0].perf!.slower).toBe(true);
    expect(result.cells[0].perf!.decode_change_pct).toBeLessThan(-90);
  });
});

describe('validate catches a broken engine', () => {
  it('RABBIT_BENCH_FAULT=wrong-rope turns every cell into a failure and the exit code non-zero', async () => {
    const r = await runValidate(['--no-live', '--json', '--no-save'], { RABBIT_BENCH_FAULT: 'wrong-rope' });
    expect(r.status).toBe(1);
    const file = parseJsonRun(r);
    expect(file.pass).toBe(false);
    expect(file.settings.global_fault).toBe('wrong-rope');
    for (const c of file.cells) {
      expect(c.status, c.id).toBe('fail');
      expect(c.fault).toBe('wrong-rope');
      expect(c.failures.length).toBeGreaterThan(0);
      expect(c.reason).toBe(c.failures.join('; '));
    }
  });

  it('a forced native abort in one cell is a crash; every other cell still runs and passes', async () => {
    const target = 'qwen2-gqa-tied-bf16/long/cpu';
    const r = await runValidate(['--no-live', '--json', '--no-save', '--inject-fault', `${target}=abort`]);
    expect(r.status).toBe(1);
    const file = parseJsonRun(r);
    const crashed = file.cells.find((c) => c.id === target)!;
    expect(crashed).toMatchObject({ status: 'crash', fault: 'abort', timings: null });
    expect(crashed.process!.signal).toBe('SIGABRT');
    expect(crashed.reason).toMatch(/killed by SIGABRT/);
    const others = file.cells.filter((c) => c.id !== target);
    expect(others).toHaveLength(2 * FIXTURE_NAMES.length - 1);
    for (const c of others) expect(c.status, `${c.id}: ${c.reason}`).toBe('pass');
    expect(file.summary).toMatchObject({ pass: 2 * FIXTURE_NAMES.length - 1, crash: 1 });
  });

  it('a hanging cell is a timeout; its whole process group is killed and the next cell runs', async () => {
    const target = 'llama-tied-gqa-f32/short/cpu';
    const r = await runValidate(['--no-live', '--json', '--no-save', '--fixtures', 'llama-tied-gqa-f32', '--cell-timeout', '5', '--inject-fault', `${target}=hang`]);
    expect(r.status).toBe(1);
    const file = parseJsonRun(r);
    const hung = file.cells.find((c) => c.id === target)!;
    expect(hung.status).toBe('timeout');
    expect(hung.reason).toMatch(/no result within 5 s; its process group was killed/);
    expect(hung.process!.elapsed_ms).toBeGreaterThanOrEqual(5000);
    // The hanging cell started a grandchild in its group: neither may be left behind.
    expect(processesInGroup(hung.process!.pid!)).toEqual([]);
    expect(file.cells.find((c) => c.id === 'llama-tied-gqa-f32/long/cpu')!.status).toBe('pass');
  });

  it('a cell timeout too short for anything times every cell out and leaves no process behind', async () => {
    const r = await runValidate(['--no-live', '--json', '--no-save', '--fixtures', 'qwen3-headdim-qknorm-f32', '--cell-timeout', '0.001']);
    expect(r.status).toBe(1);
    const file = parseJsonRun(r);
    expect(file.cells.map((c) => c.status)).toEqual(['timeout', 'timeout']);
    for (const c of file.cells) expect(processesInGroup(c.process!.pid!)).toEqual([]);
  });
});

describe('validate: cells that cannot run', () => {
  it('a model folder without a reference is skipped (not a pass unless --allow-skips)', async () => {
    const orphan = join(work, 'orphan-model');
    cpSync(fixtureDirs['llama-linear-rope-f16'], orphan, { recursive: true });
    const args = ['--no-live', '--json', '--no-save', '--fixtures', 'none', '--models', orphan];
    const r = await runValidate(args);
    expect(r.status).toBe(1);
    const file = parseJsonRun(r);
    expect(file.models[0]).toMatchObject({ name: 'orphan-model', fixture: false, reference: { source: 'none' }, problem: null });
    for (const c of file.cells) {
      expect(c.status).toBe('skipped');
      expect(c.reason).toMatch(/^no reference: .*no golden .*orphan-model\.json/);
      expect(c.process).toBeNull();
    }
    const allowed = await runValidate([...args, '--allow-skips']);
    expect(allowed.status).toBe(0);
    expect(parseJsonRun(allowed).pass).toBe(true);
  });

  it('cuda cells are unavailable in a build without a CUDA backend, which is not a pass (the table, Markdown and CSV say so)', async () => {
    const args = ['--no-live', '--no-save', '--fixtures', 'llama-tied-gqa-f32', '--devices', 'cpu,cuda'];
    const r = await runValidate(args);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/short \(8\) · cuda/);
    expect(r.stdout).toMatch(/2 cells n\/a — this build has no CUDA backend/);
    expect(r.stdout).toMatch(/validate FAIL: 4 cells · 2 pass · 2 unavailable/);
    const md = await runValidate([...args, '--format', 'md']);
    expect(md.status).toBe(1);
    expect(md.stdout).toMatch(/\| model \| architecture \| short \(8\) · cpu \| short \(8\) · cuda \| long \(512\) · cpu \| long \(512\) · cuda \|/);
    expect(md.stdout).toMatch(/\| pass<br>[^|]+ \| n\/a \| pass<br>[^|]+ \| n\/a \|/);
    expect(md.stdout).toMatch(/validate FAIL: 4 cells · 2 pass · 2 unavailable/);
    const csv = await runValidate([...args, '--format', 'csv']);
    expect(csv.status).toBe(1);
    const rows = csv.stdout.trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 5).join(','));
    expect(rows).toEqual(['short', 'long'].flatMap((p) => ['cpu', 'cuda'].map((d) =>
      `llama-tied-gqa-f32/${p}/${d},llama-tied-gqa-f32,${p},${d},${d === 'cpu' ? 'pass' : 'unavailable'}`)));
  });

  it('a model that cannot be loaded makes its cells errors; the others still run', async () => {
    const r = await runValidate(['--no-live', '--json', '--no-save', '--fixtures', 'llama-tied-gqa-f32', '--models', join(work, 'no-such-model')]);
    expect(r.status).toBe(1);
    const file = parseJsonRun(r);
    expect(file.cells.filter((c) => c.model === 'llama-tied-gqa-f32').map((c) => c.status)).toEqual(['pass', 'pass']);
    const broken = file.cells.filter((c) => c.model === 'no-such-model');
    expect(broken.map((c) => c.status)).toEqual(['error', 'error']);
    expect(broken[0].reason).toMatch(/cannot load/);
  });

  it('usage errors exit 2 before any cell runs', async () => {
    const bad = [
      ['--inject-fault', 'nope/short/cpu=abort'],
      ['--inject-fault', 'llama-tied-gqa-f32/short/cpu=melt'],
      ['--devices', 'tpu'],
      ['--prompts', 'medium'],
      ['--fixtures', 'gpt-2'],
      ['--cell-timeout', '0'],
      ['--baseline', join(work, 'missing.json')],
    ];
    for (const args of bad) {
      const fixtures = args.includes('--fixtures') ? [] : ['--fixtures', 'llama-tied-gqa-f32'];
      const r = await runValidate(['--no-live', '--no-save', ...fixtures, ...args]);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/rabbit-bench: error: /);
      expect(r.stderr).not.toMatch(/\[1\//);
    }
  });
});

const python = defaultPython();
const liveProblem = python ? pythonProblem(python) : 'no .venv-hf (scripts/setup-hf-venv.sh makes one)';
describe.skipIf(liveProblem !== undefined)(`validate with live HF references${liveProblem ? ` (skipped: ${liveProblem})` : ''}`, () => {
  it('makes the reference with transformers and passes', async () => {
    const r = await runValidate(['--json', '--no-save', '--fixtures', 'qwen3-headdim-qknorm-f32,mistral-mqa-swa-f16']);
    expect(r.status, r.stderr).toBe(0);
    const file = parseJsonRun(r);
    expect(file.settings.reference_mode).toBe('live');
    for (const m of file.models) expect(m.reference).toMatchObject({ source: 'live', file: expect.any(String) });
    expect(file.models[0].reference.transformers_version).toMatch(/^\d+\./);
    expect(file.cells.map((c) => c.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
    // The live reference lived in a temporary folder that is gone now.
    expect(existsSync(file.models[0].reference.file!)).toBe(false);
  });
});
