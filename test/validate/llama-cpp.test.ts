// validate --llama-cpp: a GGUF model's cells are also compared with llama.cpp; other models say
// why they are not (always runs), and a broken engine fails the llama.cpp check too (needs live HF
// references for the GGUF file and node-llama-cpp).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { locateLlamaCpp } from '../../bench/llama-cpp/locate.js';
import { defaultPython, pythonProblem } from '../../bench/reference/live.js';
import { HAS_SHARED_GGUF, STORIES_GGUF_DIR } from '../helpers/paths.js';
import { parseJsonRun, runValidate } from './helpers.js';

describe('validate --llama-cpp on a safetensors fixture', () => {
  it('runs the HF check alone and says llama.cpp reads GGUF only', async () => {
    const r = await runValidate(['--no-live', '--json', '--no-save', '--llama-cpp', '--fixtures', 'llama-tied-gqa-f32', '--prompts', 'short']);
    expect(r.status, r.stderr).toBe(0);
    const file = parseJsonRun(r);
    expect(file.settings.llama_cpp).toBe(true);
    expect(file.models[0].llama_cpp).toEqual({ build: null, note: 'not a GGUF file: llama.cpp reads GGUF only' });
    expect(file.cells.map((c) => [c.status, c.llama_cpp])).toEqual([['pass', null]]);
    const text = await runValidate(['--no-live', '--no-save', '--llama-cpp', '--fixtures', 'llama-tied-gqa-f32', '--prompts', 'short']);
    expect(text.stdout).toMatch(/llama-tied-gqa-f32: no llama\.cpp comparison: not a GGUF file/);
  });
});

const python = defaultPython();
const llama = locateLlamaCpp();
const missing = [
  !HAS_SHARED_GGUF && 'no ../shared/models/stories260K-gguf',
  !python ? 'no .venv-hf (scripts/setup-hf-venv.sh makes one)' : pythonProblem(python),
  !llama.found && 'no node-llama-cpp (npm run setup:llama-cpp)',
].filter(Boolean);

describe.skipIf(missing.length > 0)(`validate --llama-cpp on a GGUF file written by llama.cpp's converter${missing.length ? ` (skipped: ${missing.join('; ')})` : ''}`, () => {
  const gguf = join(STORIES_GGUF_DIR, 'stories260K-f16.gguf');

  it('short and long prompts agree with both transformers and llama.cpp; a wrong RoPE fails both checks', async () => {
    const args = ['--json', '--no-save', '--llama-cpp', '--fixtures', 'none', '--models', gguf];
    const r = await runValidate(args);
    expect(r.status, r.stderr).toBe(0);
    const file = parseJsonRun(r);
    expect(file.models[0].llama_cpp?.build).toMatch(/^llama\.cpp \S+ \(node-llama-cpp 3\.21\.1, /);
    expect(file.cells.map((c) => c.prompt)).toEqual(['short', 'long']);
    for (const c of file.cells) {
      expect(c.status).toBe('pass');
      expect(c.llama_cpp).toMatchObject({ pass: true, metrics: { top1Match: true, top5Overlap: 5 } });
      expect(c.llama_cpp!.metrics.greedyPrefix).toBe(c.llama_cpp!.metrics.greedyLength);
    }

    const broken = await runValidate([...args, '--inject-fault', 'stories260K-f16/long/cpu=wrong-rope']);
    expect(broken.status).toBe(1);
    const cell = parseJsonRun(broken).cells.find((c) => c.prompt === 'long')!;
    expect(cell.status).toBe('fail');
    expect(cell.llama_cpp?.pass).toBe(false);
    expect(cell.failures.some((f) => f.startsWith('llama.cpp: '))).toBe(true);
  });
});
