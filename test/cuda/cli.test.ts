// `profile --device cuda` and `cpu-vs-cuda` as a user runs them: without a usable CUDA device they
// say exactly why (profile exits 2; cpu-vs-cuda measures the CPU side and exits 0, or 2 with
// --require-cuda); with one, both sides are measured.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cpuVsCudaReport, parseCpuVsCudaFile, type CpuVsCudaFile } from '../../bench/cuda/compare.js';
import { render } from '../../bench/report/print.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR, STORIES_SUITE } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';
import { STATUS, runCpuVsCuda } from './helpers.js';

const tempDir = tempDirs();

const QUICK = ['--runs', '2', '--warmup', '1', '--max-new-tokens', '4', '--prompt-tokens', '20', '--no-measure-env'];

describe.skipIf(!HAS_STORIES)(`--device cuda and cpu-vs-cuda (${STORIES_SUITE})`, () => {
  it.skipIf(STATUS.available)('profile --device cuda exits 2 with the exact reason', async () => {
    const r = await runCli(['profile', '--model', STORIES_DIR, '--device', 'cuda', '--no-save', ...QUICK]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`rabbit-bench: error: --device cuda: no CUDA backend available: ${STATUS.reason}`);
    expect(r.stdout).toBe('');
  });

  describe('cpu-vs-cuda --model stories260K', () => {
    let out: string;
    let doc: CpuVsCudaFile;
    let table: { status: number | null; stdout: string; stderr: string };
    beforeAll(async () => {
      out = tempDir('rb-cvc-');
      const r = await runCpuVsCuda(['--model', STORIES_DIR, ...QUICK, '--json', '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      doc = parseCpuVsCudaFile(JSON.parse(r.stdout), 'stdout');
      table = await runCpuVsCuda(['--model', STORIES_DIR, ...QUICK, '--no-save']);
    });

    it('measures the CPU side like profile (same settings, a valid profile document)', () => {
      expect(doc.models).toHaveLength(1);
      const m = doc.models[0];
      expect(m.model).toMatchObject({ name: 'stories260K', params: 260_032, num_layers: 5 });
      expect(m.cpu.profile.settings).toMatchObject({ device: 'cpu', runs: 2, warmup: 1, max_new_tokens: 4, prompt_tokens: 20 });
      expect(m.cpu.profile.runs.map((r) => r.warmup)).toEqual([true, false, false]);
      expect(m.cpu.load_ms).toBeGreaterThanOrEqual(0);
      expect(doc.settings).toMatchObject({ pin_memory: true, async_transfer: true, synthetic_layers: null });
    });

    it.skipIf(STATUS.available)('without CUDA: the CPU side only, the reason in the document, the table and stderr; exit 0', () => {
      expect(doc.cuda).toMatchObject({ available: false, code: STATUS.code, reason: STATUS.reason });
      expect(doc.models[0]).toMatchObject({ cuda: null, cuda_error: null, speedup: null });
      expect(doc.crossover).toEqual([]);
      expect(table.status, table.stderr).toBe(0);
      const missing = { 'not-built': 'backend not built or not loadable', 'load-failed': 'backend not built or not loadable', 'abi-mismatch': 'backend not built or not loadable',
        'no-driver': 'no driver', 'driver-error': 'driver error', 'no-device': 'no device', ok: '' }[STATUS.code];
      const note = `CUDA unavailable (${missing}): ${STATUS.reason}. Only the CPU side was measured.`;
      expect(table.stdout).toContain(note);
      expect(table.stderr).toContain(note);
      for (const label of ['load (ms, engine open)', 'TTFT (ms)', 'decode tok/s', 's / token (decode)', 'create_layer (ms/run)', 'forward_per_layer (ms/run)', 'Summary (models by size', 'crossover: not measured']) {
        expect(table.stdout).toContain(label);
      }
    });

    it.skipIf(!STATUS.available)('with CUDA: both sides, the same tokens, speedups, VRAM and a crossover line', () => {
      const m = doc.models[0];
      expect(m.cuda_error).toBeNull();
      expect(m.cuda!.profile.settings.device).toBe('cuda');
      expect(m.cuda!.profile.runs.map((r) => r.tokens)).toEqual(m.cpu.profile.runs.map((r) => r.tokens));
      expect(m.speedup).toHaveProperty('decode_tok_s');
      expect(m.speedup).toHaveProperty('ttft_ms');
      expect(m.cuda!.vram!.peak_bytes).toBeGreaterThan(0);
      expect(doc.crossover.map((c) => c.metric)).toEqual(['decode_tok_s', 'ttft_ms', 'wall_ms']);
      expect(table.stdout).toMatch(/crossover, decode tok\/s: CUDA/);
    });

    it('writes JSON, CSV and Markdown result files; the report is rebuilt from the saved JSON alone', () => {
      const files = readdirSync(out).sort();
      expect(files.map((f) => f.replace(/^\d{8}-\d{6}-/, ''))).toEqual(['cpu-vs-cuda-stories260K.csv', 'cpu-vs-cuda-stories260K.json', 'cpu-vs-cuda-stories260K.md']);
      const saved = parseCpuVsCudaFile(JSON.parse(readFileSync(join(out, files[1]), 'utf8')), files[1]);
      expect(saved).toEqual(doc);
      const csv = readFileSync(join(out, files[0]), 'utf8');
      expect(csv.split('\n')[0]).toBe('model,params,full_params,device,metric,median,min,max,stdev');
      expect(csv.split('\n').some((l) => l.startsWith('stories260K,260032,,cpu,decode_tok_s,'))).toBe(true);
      const md = readFileSync(join(out, files[2]), 'utf8');
      expect(md).toMatch(/^## rabbit-bench cpu-vs-cuda/);
      expect(md).toMatch(/\| metric \| CPU \| CUDA \| CUDA vs CPU \|/);
      const report = cpuVsCudaReport(saved);
      expect(report.tables.map((t) => t.title)).toEqual([expect.stringMatching(/^stories260K \(/), expect.stringMatching(/^Summary/)]);
      expect(render(report, 'md')).toBe(md);
      expect(render(report, 'csv')).toBe(csv);
    });

    it('--format csv and md print those forms', async () => {
      const csv = await runCpuVsCuda(['--model', STORIES_DIR, ...QUICK, '--no-save', '--format', 'csv']);
      expect(csv.status, csv.stderr).toBe(0);
      expect(csv.stdout.split('\n')[0]).toBe('model,params,full_params,device,metric,median,min,max,stdev');
      const md = await runCpuVsCuda(['--model', STORIES_DIR, ...QUICK, '--no-save', '--format', 'md']);
      expect(md.status, md.stderr).toBe(0);
      expect(md.stdout).toMatch(/### stories260K/);
    });
  });

  it.skipIf(STATUS.available)('--require-cuda exits 2 with the reason, before measuring anything', async () => {
    const r = await runCpuVsCuda(['--model', STORIES_DIR, ...QUICK, '--no-save', '--require-cuda']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`rabbit-bench: error: --require-cuda: no CUDA backend available: ${STATUS.reason}`);
    expect(r.stdout).toBe('');
  });

  it('usage errors exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--model', STORIES_DIR, '--shapes', 'smollm2-135m'], /--model and --shapes: pick one/],
      [['--shapes', 'no-such-shape'], /unknown shape 'no-such-shape'/],
      [['--model', STORIES_DIR, '--runs', '0'], /--runs must be a whole number >= 1/],
    ];
    for (const [args, message] of cases) {
      const r = await runCpuVsCuda([...args, '--no-save', '--no-measure-env']);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('cpu-vs-cuda --shapes', () => {
  it('synthesises each shape cut to --layers into the cache once, and says so', async () => {
    const cache = tempDir('rb-cvc-cache-');
    const args = ['--shapes', 'smollm2-135m', '--layers', '1', '--runs', '1', '--warmup', '0', '--max-new-tokens', '2', '--prompt-tokens', '8', '--no-measure-env', '--no-save'];
    const first = await runCpuVsCuda([...args, '--json'], { XDG_CACHE_HOME: cache });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/synthesising smollm2-135m \(1 of 30 layers, bf16, random weights/);
    const doc = parseCpuVsCudaFile(JSON.parse(first.stdout), 'stdout');
    expect(doc.settings.synthetic_layers).toBe(1);
    expect(doc.models[0]).toMatchObject({ full_params: 134_515_008, full_layers: 30, model: { name: 'smollm2-135m', num_layers: 1 } });
    const second = await runCpuVsCuda(args, { XDG_CACHE_HOME: cache });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/synthesising/);
    expect(second.stdout).toMatch(/shapes cut to 1 decoder layers \(embedding and lm_head at full size\)/);
    expect(second.stdout).toMatch(/smollm2-135m \(synthetic smollm2-135m, 1 of 30 layers, LlamaForCausalLM, bfloat16, 1 layers, [\d.]+M params; full model 134\.5M\)/);
    expect(readdirSync(join(cache, 'rabbit-bench', 'models'))).toEqual(['smollm2-135m-L1-bf16-seed0-v1']);
  });
});
