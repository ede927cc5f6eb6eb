import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseProfileFile, readProfileFile } from '../../bench/results/read.js';
import type { ProfileFile } from '../../bench/results/profile-schema.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR, STORIES_SUITE } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';

const tempDir = tempDirs();

const QUICK = ['--runs', '2', '--warmup', '1', '--max-new-tokens', '4', '--prompt-tokens', '20', '--no-measure-env'];

describe.skipIf(!HAS_STORIES)(`profile (${STORIES_SUITE})`, () => {
  let out: string;
  let doc: ProfileFile;
  let stdout: string;
  beforeAll(async () => {
    out = tempDir('rb-profile-');
    const r = await runCli(['profile', '--model', STORIES_DIR, ...QUICK, '--json', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    stdout = r.stdout;
    doc = parseProfileFile(JSON.parse(stdout), 'stdout');
  });

  it('--json prints exactly one valid result document', () => {
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(doc.runs.map((r) => r.warmup)).toEqual([true, false, false]);
    expect(doc.settings).toMatchObject({ prompt_tokens: 20, max_new_tokens: 4, runs: 2, warmup: 1, prefetch: true, cold: false });
    expect(doc.unit_names).toEqual(['embed', 'layers.0', 'layers.1', 'layers.2', 'layers.3', 'layers.4', 'lm_head']);
    expect(doc.model).toMatchObject({ architecture: 'LlamaForCausalLM', num_layers: 5, params: 260_032, synthetic: null });
    expect(doc.metadata.command).toMatch(/profile --model/);
    expect(doc.environment).toHaveProperty('cpu');
    expect(doc.engine.build).toHaveProperty('compiler');
  });

  it('every step: foreground phases never exceed the wall, and the rest is unaccounted', () => {
    for (const run of doc.runs) {
      expect(run.steps.map((s) => s.kind)).toEqual(['prefill', 'decode', 'decode', 'decode']);
      for (const s of run.steps) {
        let foreground = s.sample_ns;
        s.load_ns.forEach((load, u) => {
          foreground += s.cpu_wait_ns[u] + s.create_ns[u] + s.forward_ns[u] + s.kv_fill_ns[u] + (s.load_in_background[u] ? 0 : load);
        });
        expect(foreground).toBeLessThanOrEqual(s.wall_ns + s.sample_ns);
      }
    }
    const summary = doc.summary as { phases: Record<string, { median: number }>; wall_ms: { median: number }; verdict: { line: string } };
    expect(summary.phases.unaccounted.median).toBeGreaterThanOrEqual(0);
    expect(summary.verdict.line).toMatch(/-bound|not overlapping/);
  });

  it('writes JSON, CSV (one row per run × step × unit × phase) and Markdown files', () => {
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(3);
    expect(files.map((f) => f.split('.').pop())).toEqual(['csv', 'json', 'md']);
    expect(files[0]).toMatch(/^\d{8}-\d{6}-profile-stories260K\.csv$/);
    expect(readProfileFile(join(out, files[1])).runs).toHaveLength(3);
    const csv = readFileSync(join(out, files[0]), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('run,warmup,cache,step,kind,step_tokens,position,unit,phase,ns,bytes_read,background');
    expect(csv.length - 1).toBe(3 * 4 * (7 * 5 + 2));
    const md = readFileSync(join(out, files[2]), 'utf8');
    expect(md).toMatch(/\| phase \| median \| min \| max \| stdev \| share of wall \|/);
    expect(md).toMatch(/verdict: /);
  });

  it('the table shows phases, rates, slowest units and the verdict; --cold is labelled', async () => {
    const r = await runCli(['profile', '--model', STORIES_DIR, ...QUICK, '--cold', '--no-save']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/COLD per step/);
    for (const label of ['load_safe_tensor (prefetch thread)', 'load_safe_tensor_cpu_wait', 'create_layer', 'forward_per_layer', 'kv_fill', 'unaccounted', 'TTFT (ms)', 'decode tok/s', 'overlap efficiency', 'Slowest units', 'verdict:']) {
      expect(r.stdout).toContain(label);
    }
    const json = JSON.parse((await runCli(['profile', '--model', STORIES_DIR, ...QUICK, '--cold', '--no-save', '--json'])).stdout);
    expect(json.runs.every((run: { cache: string }) => run.cache === 'cold-step')).toBe(true);
    expect(json.summary.cache).toBe('cold-step');
  });

  it('--format csv and md print to stdout; --no-prefetch profiles show foreground loads', async () => {
    const csv = await runCli(['profile', '--model', STORIES_DIR, ...QUICK, '--no-save', '--format', 'csv']);
    expect(csv.stdout.split('\n')[0]).toMatch(/^run,warmup,cache/);
    const md = await runCli(['profile', '--model', STORIES_DIR, ...QUICK, '--no-save', '--format', 'md', '--no-prefetch']);
    expect(md.stdout).toMatch(/^## rabbit-bench profile/);
    expect(md.stdout).toMatch(/streaming, no prefetch/);
    expect(md.stdout).not.toMatch(/prefetch thread/);
  });

  it('a result whose per-unit columns do not match unit_names is rejected', () => {
    const broken = structuredClone(doc);
    broken.runs[1].steps[2].forward_ns.pop();
    expect(() => parseProfileFile(broken, 'edited.json')).toThrow(/runs\.1\.steps\.2\.forward_ns: has 6 entries, unit_names has 7/);
    const noMeasured = structuredClone(doc);
    noMeasured.runs.forEach((r) => (r.warmup = true));
    expect(() => parseProfileFile(noMeasured, 'edited.json')).toThrow(/no measured \(non-warmup\) run/);
  });

  it('impossible options exit 2 with a reason', async () => {
    const cases: [string[], RegExp][] = [
      [['--runs', '0'], /--runs must be a whole number >= 1/],
      [['--device', 'cuda'], /no CUDA backend/],
      [['--resident', '--cold'], /pick one/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['profile', '--model', STORIES_DIR, '--no-save', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('profile without --model', () => {
  it('synthesises the default model once into the cache (XDG_CACHE_HOME) and profiles it', async () => {
    const cache = tempDir('rb-cache-');
    const args = ['profile', '--runs', '1', '--warmup', '0', '--max-new-tokens', '2', '--prompt-tokens', '8', '--no-measure-env', '--no-save', '--json'];
    const first = await runCli(args, { XDG_CACHE_HOME: cache });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/synthesising the default model \(smollm2-135m shape, bf16/);
    const doc = JSON.parse(first.stdout);
    expect(doc.model).toMatchObject({ name: 'smollm2-135m', dtype: 'bfloat16', num_layers: 30, synthetic: { shape: 'smollm2-135m', seed: 0 } });
    expect(doc.model.params).toBe(134_515_008);
    const second = await runCli(args, { XDG_CACHE_HOME: cache });
    expect(second.status).toBe(0);
    expect(second.stderr).not.toMatch(/synthesising/);
    expect(readdirSync(join(cache, 'rabbit-bench', 'models'))).toHaveLength(1);
  });
});

describe('result file validation', () => {
  it('rejects malformed files with a message that says where', () => {
    const dir = tempDir('rb-bad-result-');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    expect(() => readProfileFile(bad)).toThrow(/bad\.json: not valid JSON/);
    expect(() => parseProfileFile({ schema: 'rabbit-bench/profile@9' }, 'x.json')).toThrow(/profile@9 is not supported/);
    expect(() => parseProfileFile({ schema: 'rabbit-bench/profile@1', command: 'profile' }, 'x.json')).toThrow(/x\.json is not a valid rabbit-bench profile result: created_at/);
  });
});
