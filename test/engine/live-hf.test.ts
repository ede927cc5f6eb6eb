// Models no golden file covers, checked against transformers itself: random shapes per
// architecture (odd head counts, head_dim not hidden/heads, Qwen2 untied, MQA Qwen3, ...), so
// the engine is right for the family, not for the fixtures. Needs a Python with transformers
// (scripts/setup-hf-venv.sh); without one the suite is skipped and says so, and the golden
// tests still cover parity.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../bench/engine/engine.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { F32_TOLERANCE } from '../../bench/reference/compare.js';
import { defaultPython, pythonProblem, runHfReference } from '../../bench/reference/live.js';
import { runParity } from '../../bench/reference/run-parity.js';
import { writeCheckpoint } from '../../bench/synth/checkpoint.js';
import type { ModelDtype } from '../../bench/model/types.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR } from '../helpers/paths.js';

const python = defaultPython();
const problem = python ? pythonProblem(python) : 'no .venv-hf (run scripts/setup-hf-venv.sh)';
const SUITE = problem ? `live transformers parity (skipped: ${problem})` : 'live transformers parity';

interface Unseen {
  name: string;
  dtype: ModelDtype;
  shards: number;
  config: Record<string, unknown>;
}

const base = { hidden_act: 'silu', bos_token_id: 1, eos_token_id: 2, max_position_embeddings: 1024, rms_norm_eps: 1e-6 };

const UNSEEN: Unseen[] = [
  {
    name: 'llama-mqa-odd-heads-bf16',
    dtype: 'bfloat16',
    shards: 3,
    config: { ...base, architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 96, intermediate_size: 200, num_hidden_layers: 3,
      num_attention_heads: 6, num_key_value_heads: 1, vocab_size: 300, rope_theta: 50000, tie_word_embeddings: false,
      rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 128 } },
  },
  {
    name: 'mistral-gqa-window-f32',
    dtype: 'float32',
    shards: 1,
    config: { ...base, architectures: ['MistralForCausalLM'], model_type: 'mistral', hidden_size: 80, intermediate_size: 144, num_hidden_layers: 2,
      num_attention_heads: 10, num_key_value_heads: 5, head_dim: 8, vocab_size: 290, rope_theta: 1000000, sliding_window: 97, tie_word_embeddings: false },
  },
  {
    name: 'qwen2-untied-mha-f16',
    dtype: 'float16',
    shards: 2,
    config: { ...base, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 48, intermediate_size: 136, num_hidden_layers: 2,
      num_attention_heads: 3, num_key_value_heads: 3, vocab_size: 333, rope_theta: 1000000, tie_word_embeddings: false, use_sliding_window: false },
  },
  {
    name: 'qwen3-mqa-wide-head-bf16',
    dtype: 'bfloat16',
    shards: 1,
    config: { ...base, architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 40, intermediate_size: 112, num_hidden_layers: 3,
      num_attention_heads: 5, num_key_value_heads: 1, head_dim: 24, vocab_size: 310, rope_theta: 1000000, tie_word_embeddings: true,
      attention_bias: false },
  },
];

const work: string[] = [];
afterAll(() => work.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.skipIf(problem !== undefined)(SUITE, () => {
  for (const [i, model] of UNSEEN.entries()) {
    it(`${model.name}: engine matches transformers (short and 300-token prompts)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `rb-unseen-${model.name}-`));
      work.push(dir);
      writeCheckpoint(dir, { config: model.config, dtype: model.dtype, shards: model.shards, seed: 7000 + i });
      const vocab = model.config.vocab_size as number;
      const ids = (n: number, stride: number) => Array.from({ length: n }, (_, k) => (k * stride + 5) % vocab);
      const reference = runHfReference({ python: python!, source: { format: 'safetensors', dir }, maxNewTokens: 16, threads: 2,
        prompts: [{ name: 'short', ids: ids(7, 11) }, { name: 'long', ids: ids(300, 17) }] });
      const engine = InferenceEngine.open(buildLoadPlan(dir), {});
      try {
        const results = await runParity(reference, engine, F32_TOLERANCE);
        for (const r of results) expect(r.failures, `${model.name} ${r.name}`).toEqual([]);
      } finally {
        engine.close();
      }
    });
  }

  it.skipIf(!HAS_STORIES)('parity CLI on stories260K with a live reference passes, and fails on a planted boolean mask', async () => {
    const ok = await runCli(['parity', '--model', STORIES_DIR, '--python', python!, '--max-new-tokens', '16', '--json']);
    expect(ok.status).toBe(0);
    const doc = JSON.parse(ok.stdout);
    expect(doc.pass).toBe(true);
    expect(doc.weights_check).toEqual({ status: 'match' });
    const broken = await runCli(['parity', '--model', STORIES_DIR, '--python', python!, '--max-new-tokens', '16'], { RABBIT_BENCH_FAULT: 'boolean-mask' });
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/parity FAIL/);
  });
});
