// parity --llama-cpp: the comparison's logic on known data (always), the CLI's refusals (always),
// and the engine against llama.cpp on GGUF files llama.cpp's converter wrote (with node-llama-cpp).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareWithLlamaCpp, FLOAT_TOLERANCE, judgeLlamaCpp, QUANTIZED_TOLERANCE, softmax } from '../../bench/llama-cpp/compare.js';
import { locateLlamaCpp } from '../../bench/llama-cpp/locate.js';
import { llamaCppSpeed } from '../../bench/llama-cpp/run.js';
import { runCli } from '../helpers/cli.js';
import { HAS_SHARED_GGUF, HAS_STORIES, STORIES_DIR, STORIES_GGUF_DIR } from '../helpers/paths.js';

const llama = locateLlamaCpp();
const emptyCache = mkdtempSync(join(tmpdir(), 'rb-no-llama-'));
afterAll(() => rmSync(emptyCache, { recursive: true, force: true }));

describe('the comparison with llama.cpp', () => {
  const logits = [2, 1, 0.5, 0, -1, -3, -4];
  const p = softmax(logits);
  const ref = (top5: { id: number; p: number }[], greedy = [0, 1, 2]) => ({ name: 'c', prompt_ids: [1], greedy_tokens: greedy, top5 });
  const same = [0, 1, 2, 3, 4].map((id) => ({ id, p: p[id] }));

  it('the same distribution and tokens pass; a softmax sums to 1', () => {
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const m = compareWithLlamaCpp(logits, [0, 1, 2], ref(same));
    expect(m).toEqual({ top1Match: true, top5Overlap: 5, maxProbDiff: 0, greedyPrefix: 3, greedyLength: 3 });
    expect(judgeLlamaCpp(m, FLOAT_TOLERANCE).pass).toBe(true);
  });

  it('a moved probability, another top 5, another top 1 or diverging tokens fail, each named', () => {
    const moved = same.map((t, i) => (i === 1 ? { ...t, p: t.p + 0.02 } : t));
    expect(judgeLlamaCpp(compareWithLlamaCpp(logits, [0, 1, 2], ref(moved)), FLOAT_TOLERANCE).failures).toEqual([expect.stringMatching(/max \|Δp\| over llama\.cpp's top 5 2\.00e-2 > 0\.01/)]);
    expect(judgeLlamaCpp(compareWithLlamaCpp(logits, [0, 1, 2], ref(moved)), QUANTIZED_TOLERANCE).pass).toBe(true);
    const other = [...same.slice(0, 4), { id: 6, p: p[6] }];
    expect(judgeLlamaCpp(compareWithLlamaCpp(logits, [0, 1, 2], ref(other)), FLOAT_TOLERANCE).failures).toEqual(['top-5 overlap 4/5 < 5']);
    const swapped = [same[1], same[0], ...same.slice(2)];
    expect(judgeLlamaCpp(compareWithLlamaCpp(logits, [0, 1, 2], ref(swapped)), FLOAT_TOLERANCE).failures).toContain('top-1 token differs');
    expect(judgeLlamaCpp(compareWithLlamaCpp(logits, [0, 2, 2], ref(same)), FLOAT_TOLERANCE).failures).toEqual(['greedy tokens diverge at 1 of 3']);
  });
});

describe.skipIf(!HAS_STORIES)('parity --llama-cpp refusals', () => {
  it('a safetensors model exits 2: llama.cpp compares on a GGUF file', async () => {
    const r = await runCli(['parity', '--llama-cpp', '--model', STORIES_DIR]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--llama-cpp compares on the same GGUF file: pass a \.gguf model/);
  });

  it('--llama-cpp conflicts with --python and --reference, and its absence does not', async () => {
    expect((await runCli(['parity', '--llama-cpp', '--python', '/x', '--model', STORIES_DIR])).stderr).toMatch(/llama-cpp and python are mutually exclusive/);
    const python = await runCli(['parity', '--python', '/nonexistent/python', '--model', STORIES_DIR]);
    expect(python.status).toBe(2);
    expect(python.stderr).toMatch(/cannot run \/nonexistent\/python/);
  });

  // An empty cache hides the installed copy, unless it sits in this checkout's node_modules.
  it.skipIf(!HAS_SHARED_GGUF || (llama.found && llama.from === 'checkout'))('without node-llama-cpp it exits 2 saying how to add it', async () => {
    const r = await runCli(['parity', '--llama-cpp', '--model', join(STORIES_GGUF_DIR, 'stories260K-f32.gguf')], { XDG_CACHE_HOME: emptyCache });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no llama\.cpp reference: node-llama-cpp is not installed: `npm run setup:llama-cpp` puts node-llama-cpp@3\.21\.1/);
  });
});

const skip = !HAS_SHARED_GGUF ? '../shared/models GGUF files are absent' : !llama.found ? llama.reason : null;

describe.skipIf(skip !== null)(`the engine against llama.cpp${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('stories260K in f32 and bf16 (written by llama.cpp\'s converter): the same greedy tokens and top 5, short and long prompts', async () => {
    for (const type of ['f32', 'bf16']) {
      const r = await runCli(['parity', '--llama-cpp', '--model', join(STORIES_GGUF_DIR, `stories260K-${type}.gguf`), '--max-new-tokens', '12', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.pass).toBe(true);
      expect(doc.cases.map((c: { name: string; metrics: { greedyPrefix: number } }) => [c.name, c.metrics.greedyPrefix])).toEqual([['short', 12], ['long', 12]]);
      expect(doc.reference.llama_cpp).toMatchObject({ node_llama_cpp: '3.21.1', build_type: expect.any(String) });
    }
  });

  it('the speed job times one prefill and one decode call per token, and names the build', () => {
    const r = llamaCppSpeed({ model: join(STORIES_GGUF_DIR, 'stories260K-f32.gguf'), threads: 1, prompt_ids: [1, 403, 407, 261, 378], decode_tokens: 6 });
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
    if (!r.ok) return;
    expect(r.report).toMatchObject({ kind: 'speed', prompt_tokens: 5, decode_tokens: 6, build: { node_llama_cpp: '3.21.1', threads: 1 } });
    expect(r.report.prefill_s).toBeGreaterThan(0);
    expect(r.report.decode_s).toBeGreaterThan(0);
    const missing = llamaCppSpeed({ model: join(emptyCache, 'none.gguf'), threads: 1, prompt_ids: [1], decode_tokens: 1 });
    expect(missing.ok).toBe(false);
  });

  it('a broken engine (the wrong RoPE) fails against llama.cpp, exit 1', async () => {
    const r = await runCli(['parity', '--llama-cpp', '--model', join(STORIES_GGUF_DIR, 'stories260K-f32.gguf'), '--max-new-tokens', '8'], { RABBIT_BENCH_FAULT: 'wrong-rope' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/parity FAIL against llama\.cpp/);
  });
});
