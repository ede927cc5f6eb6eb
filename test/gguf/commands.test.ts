// The commands that take a model, on GGUF files: the Lily story from llama.cpp's stories260K, a
// profile that says what each unit reads and in which types, prompts for a placeholder vocabulary.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { promptOfLength } from '../../bench/profile/prompt.js';
import { buildGgufFixtures } from '../fixtures/gguf.js';
import { runCli } from '../helpers/cli.js';
import { HAS_SHARED_GGUF, QUANT_SAMPLES_DIR, STORIES_GGUF_DIR } from '../helpers/paths.js';

describe('commands on GGUF files', () => {
  let files: Record<string, string>;
  beforeAll(() => {
    files = buildGgufFixtures();
  });

  it.skipIf(!HAS_SHARED_GGUF)('generate: llama.cpp\'s stories260K-f32.gguf tells the Lily story from text (needs ../shared/models)', async () => {
    const r = await runCli(['generate', '--model', join(STORIES_GGUF_DIR, 'stories260K-f32.gguf'), '--prompt', 'Once upon a time', '--max-new-tokens', '48', '--greedy']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^, there was a little girl named Lily\. She loved to play outside in the park\. One day, she saw a big, red ball\./);
  });

  it('profile --json: per-unit bytes on disk and read per decode step, the type mix, the file type', async () => {
    const r = await runCli(['profile', '--model', files['llama-untied-Q4_K_M'], '--runs', '1', '--warmup', '0', '--prompt-tokens', '8',
      '--max-new-tokens', '3', '--no-save', '--no-measure-env', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const file = JSON.parse(r.stdout);
    expect(file.model.dtype).toBe('Q4_K_M');
    expect(file.model.dir).toBe(files['llama-untied-Q4_K_M']);
    const plan = buildLoadPlan(files['llama-untied-Q4_K_M']);
    const layers = file.summary.layers as { name: string; unit_bytes: number; bytes_per_decode_step: number; dtypes: Record<string, number> }[];
    const layer1 = layers.find((l) => l.name === 'layers.1')!;
    const want = Object.values(plan.layers[1]).reduce((a, t) => a + t.bytes, 0);
    expect(layer1.unit_bytes).toBe(want);
    expect(layer1.bytes_per_decode_step).toBe(want);
    // Layer 1 of 2 gets Q6_K on attn_v and ffn_down in the Q4_K_M mix; norms stay F32.
    expect(Object.keys(layer1.dtypes).sort()).toEqual(['F32', 'Q4_K', 'Q6_K']);
    expect(layers.find((l) => l.name === 'lm_head')!.dtypes).toEqual({ Q6_K: plan.lmHead.bytes });
    expect(file.summary.bytes_per_decode_step).toBe(layers.reduce((a, l) => a + l.bytes_per_decode_step, 0));
  });

  it.skipIf(!HAS_SHARED_GGUF)('a prompt of N tokens for a placeholder vocabulary that encodes text to nothing (needs ../shared/models)', async () => {
    const plan = buildLoadPlan(join(QUANT_SAMPLES_DIR, 'llama-256-Q8_0.gguf'));
    const ids = await promptOfLength(plan.source, plan.spec.vocabSize, 300);
    expect(ids).toHaveLength(300);
    expect(Math.max(...ids)).toBeLessThan(plan.spec.vocabSize);
  });
});
