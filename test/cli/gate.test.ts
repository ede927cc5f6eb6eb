// diff and gate on real profile files: a file against itself passes; the same file with every
// timing 15 % slower fails; changed outputs fail; another machine needs --force.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, REPO_ROOT, STORIES_DIR, STORIES_SUITE } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'rb-gate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Result files edited freely in tests.
type Json = Record<string, any>;

function scaled(doc: Json, factor: number): Json {
  const out = structuredClone(doc);
  for (const run of out.runs) {
    if (run.cpu_ns !== undefined) run.cpu_ns *= factor;
    for (const s of run.steps) {
      s.wall_ns *= factor;
      s.sample_ns *= factor;
      for (const k of ['load_ns', 'cpu_wait_ns', 'create_ns', 'forward_ns', 'kv_fill_ns']) s[k] = s[k].map((x: number) => x * factor);
    }
  }
  return out;
}

describe.skipIf(!HAS_STORIES)(`diff and gate (${STORIES_SUITE})`, () => {
  let base: string;
  let doc: Json;
  const write = (name: string, content: Json) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(content));
    return p;
  };
  beforeAll(async () => {
    const r = await runCli(['profile', '--model', STORIES_DIR, '--runs', '12', '--max-new-tokens', '8', '--prompt-tokens', '16', '--no-measure-env', '--out', join(dir, 'base')]);
    expect(r.status, r.stderr).toBe(0);
    const measured = join(dir, 'base', readdirSync(join(dir, 'base')).find((f) => f.endsWith('.json'))!);
    // A real file made steady (every run one measured run, ±1% apart): the gate's logic is
    // tested on known data; its power on noisy measurements is what bench:gate measures.
    const real = JSON.parse(readFileSync(measured, 'utf8'));
    doc = { ...real, runs: real.runs.map((run: Json, i: number) => ({ ...scaled({ runs: [real.runs[1]] }, 1 + 0.005 * ((i % 5) - 2)).runs[0], index: i, warmup: run.warmup })) };
    base = write('steady.json', doc);
  });

  it('a file compared with itself passes the gate', async () => {
    const r = await runCli(['gate', '--baseline', base, '--current', base]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gate: PASS/);
    expect(r.stdout).toMatch(/outputs: generated tokens identical/);
  });

  it('the same file with every timing sample 15% slower fails, on CPU time and on wall time', async () => {
    const slow = write('slow.json', scaled(doc, 1.15));
    const r = await runCli(['gate', '--baseline', base, '--current', slow]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/gate: FAIL\n\s+CPU time per run 15\.0% slower/);
    const wall = await runCli(['gate', '--baseline', base, '--current', slow, '--metric', 'wall_ms']);
    expect(wall.status).toBe(1);
    expect(wall.stdout).toMatch(/wall per run 15\.0% slower/);
  });

  it('diff prints a readable table for both, and JSON / Markdown on request', async () => {
    const slow = write('slow2.json', scaled(doc, 1.15));
    const same = await runCli(['diff', base, base]);
    expect(same.status).toBe(0);
    expect(same.stdout).toMatch(/│ metric\s+│ base\s+│ current\s+│ change\s+│ 99% CI of change/);
    expect(same.stdout).toMatch(/│ wall per run\s+│ [\d.]+ ms\s+│ [\d.]+ ms\s+│ \+0\.0%/);
    const r = await runCli(['diff', base, slow, '--format', 'json']);
    const d = JSON.parse(r.stdout);
    const wall = d.headline.find((m: Json) => m.id === 'wall_ms');
    expect(wall.change).toBeCloseTo(0.15, 6);
    expect(wall.verdict).toBe('slower');
    expect(d.headline.find((m: Json) => m.id === 'decode_tok_per_s').verdict).toBe('slower');
    const md = await runCli(['diff', base, slow, '--format', 'md', '--metric', 'wall_ms']);
    expect(md.stdout).toMatch(/^## rabbit-bench diff/);
    expect(md.stdout).toMatch(/\| wall per run \|/);
    expect(md.stdout).not.toMatch(/\| TTFT \|/);
  });

  it('diff warns when the two were measured differently (a cold profile against a warm one)', async () => {
    expect((await runCli(['diff', base, base])).stdout).not.toMatch(/measured differently/);
    const cold = write('cold.json', { ...doc, settings: { ...doc.settings, cold: 'step', threads: 1 } });
    const r = await runCli(['diff', base, cold]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/WARNING: the files were measured differently \(cold false vs "step", threads 0 vs 1\): timings answer different questions/);
  });

  it('writes the Markdown to GITHUB_STEP_SUMMARY when it is set', async () => {
    const summary = join(dir, 'summary.md');
    await runCli(['diff', base, base], { GITHUB_STEP_SUMMARY: summary });
    expect(readFileSync(summary, 'utf8')).toMatch(/## rabbit-bench diff/);
  });

  it('changed outputs fail the gate even when timings are unchanged', async () => {
    const changed = structuredClone(doc);
    changed.runs.forEach((r: Json) => (r.tokens[2] = (r.tokens[2] + 1) % 512));
    const r = await runCli(['gate', '--baseline', base, '--current', write('changed.json', changed)]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/generated tokens changed against the baseline/);
  });

  it('a baseline from another machine needs --force; usage errors exit 2', async () => {
    const other = structuredClone(doc);
    other.environment.machine_fingerprint = 'somewhere-else';
    const otherPath = write('other.json', other);
    const refused = await runCli(['gate', '--baseline', otherPath, '--model', STORIES_DIR, '--no-save', '--budget', '5']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/measured on another machine .*pass --force/);
    expect((await runCli(['gate', '--baseline', base, '--current', base, '--threshold', 'x'])).status).toBe(2);
    expect((await runCli(['gate', '--baseline', join(dir, 'nope.json')])).status).toBe(2);
    expect((await runCli(['gate', '--baseline', base, '--current', base, '--metric', 'nonsense'])).status).toBe(2);
  });

  it('measures adaptively in batches when no --current is given, until decided or out of budget', async () => {
    // Mechanics only: whether a live unchanged engine reads as "no change" depends on what else
    // the machine runs meanwhile (the suite runs files in parallel); bench:gate measures that.
    const r = await runCli(['gate', '--baseline', join(dir, 'base'), '--no-save', '--budget', '8', '--min-runs', '4', '--batch', '2', '--max-runs', '12']);
    expect([0, 1]).toContain(r.status);
    const counts = [...r.stderr.matchAll(/^gate: (\d+) runs, \d+ s: cpu_ms (slower|faster|no change|inconclusive) /gm)].map((m) => Number(m[1]));
    expect(counts.length).toBeGreaterThan(0);
    expect(counts[0]).toBe(4);
    counts.forEach((c, i) => expect(c).toBe(4 + 2 * i));
    expect(counts[counts.length - 1]).toBeLessThanOrEqual(12);
    expect(r.stdout).toMatch(/^gate: (PASS|FAIL)/m);
  });

  it('--baseline-engine measures the base build and this one alternately and compares pair by pair', async () => {
    const addon = join(REPO_ROOT, 'build', 'Release', 'rabbit_native.node');
    const args = ['gate', '--baseline', base, '--baseline-engine', addon, '--no-save', '--budget', '20', '--min-runs', '4', '--batch', '2'];
    const same = await runCli([...args, '--max-runs', '8']);
    expect([0, 1], same.stderr).toContain(same.status);
    expect(same.stderr).toMatch(/^gate: 4 runs of each build, \d+ s: cpu_ms /m);
    expect(same.stdout).toContain('measured alternately, run for run');
    expect(same.stdout).toContain('outputs: generated tokens identical');
    // The calibration knob slows only the build under test, never the base build beside it.
    // This model's runs take ~2 ms, so allow enough of them to decide through the jitter.
    const slowed = await runCli([...args, '--max-runs', '60'], { RABBIT_BENCH_SLOWDOWN_PERCENT: '40' });
    expect(slowed.status, slowed.stdout).toBe(1);
    expect(slowed.stdout).toMatch(/CPU time per run \d+\.\d% slower/);
    expect((await runCli(['gate', '--baseline', base, '--current', base, '--baseline-engine', addon])).status).toBe(2);
    const missing = await runCli(['gate', '--baseline', base, '--baseline-engine', join(dir, 'none.node'), '--no-save']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('the native engine is not built');
  });

  it('--current from another machine is refused like a measured run (exit 2), and compared loudly with --force', async () => {
    const other = structuredClone(doc);
    other.environment.machine_fingerprint = 'somewhere-else';
    const otherPath = write('other-current.json', other);
    const refused = await runCli(['gate', '--baseline', base, '--current', otherPath]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/measured on another machine .*pass --force/);
    const forced = await runCli(['gate', '--baseline', base, '--current', otherPath, '--force']);
    expect(forced.status).toBe(0);
    expect(forced.stderr).toMatch(/WARNING: .*comparing anyway because of --force/);
  });

  it("--model under another folder name still has its outputs compared: a model with NaN weights fails", async () => {
    // A copy of the baseline's model whose final norm is all NaN: the same shape, other outputs.
    const copy = join(dir, 'renamed-model');
    cpSync(STORIES_DIR, copy, { recursive: true });
    const file = join(copy, 'model.safetensors');
    const bytes = readFileSync(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    const [begin, end] = header['model.norm.weight'].data_offsets;
    bytes.fill(0xff, 8 + headerLength + begin, 8 + headerLength + end);
    writeFileSync(file, bytes);
    const r = await runCli(['gate', '--baseline', base, '--model', copy, '--no-save', '--budget', '5', '--min-runs', '2', '--max-runs', '2', '--batch', '2']);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/gate: FAIL\n  outputs: NaN or Inf first appeared in lm_head, at the output of norm,/);
  });

  it('a model of another shape is not the baseline\'s: exit 2 before measuring, measured or given', async () => {
    const other = structuredClone(doc);
    other.model.params += 1;
    const otherPath = write('other-model.json', other);
    const given = await runCli(['gate', '--baseline', otherPath, '--current', base]);
    expect(given.status).toBe(2);
    expect(given.stderr).toMatch(/is not the baseline's model .*\(params \d+ vs \d+\)/);
    const measured = await runCli(['gate', '--baseline', otherPath, '--model', STORIES_DIR, '--no-save']);
    expect(measured.status).toBe(2);
    expect(measured.stderr).toMatch(/is not the baseline's model/);
    expect(measured.stderr).not.toMatch(/^gate: \d+ runs/m);
  });

  it('an invalid baseline or --current file exits 2, not the regression code; a torn file in a baseline folder is skipped', async () => {
    const torn = write('torn.json', doc);
    writeFileSync(torn, readFileSync(torn, 'utf8').slice(0, 500));
    const bad = await runCli(['gate', '--baseline', torn, '--current', base]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/baseline: .*torn\.json: not valid JSON/);
    expect((await runCli(['gate', '--baseline', base, '--current', torn])).status).toBe(2);
    const folder = mkdtempSync(join(dir, 'baselines-'));
    writeFileSync(join(folder, 'good.json'), JSON.stringify(doc));
    writeFileSync(join(folder, 'zz-torn.json'), readFileSync(torn));
    const r = await runCli(['gate', '--baseline', folder, '--current', base]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/WARNING: skipping baseline: .*zz-torn\.json: not valid JSON/);
    rmSync(join(folder, 'good.json'));
    const none = await runCli(['gate', '--baseline', folder, '--current', base]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no readable profile baseline/);
  });
});
