import { describe, expect, it } from 'vitest';
import { parseModelConfig, parseModelSpec } from '../../bench/model/config.js';
import { ModelError } from '../../bench/errors.js';
import { tinyConfig } from './fixtures.js';

const SRC = '/models/x/config.json';
const spec = (overrides: Record<string, unknown> = {}, generation?: Record<string, unknown>) =>
  parseModelSpec(tinyConfig(overrides), generation, SRC);
const qwen2 = (overrides: Record<string, unknown> = {}) =>
  spec({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', ...overrides });

describe('parseModelSpec', () => {
  it('normalises a plain Llama config, filling transformers defaults', () => {
    const config = tinyConfig();
    delete config.rms_norm_eps;
    delete config.torch_dtype;
    delete config.hidden_act;
    delete config.tie_word_embeddings;
    expect(parseModelSpec(config, undefined, SRC)).toEqual({
      architecture: 'LlamaForCausalLM',
      modelType: 'llama',
      hiddenSize: 16,
      intermediateSize: 24,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 4,
      vocabSize: 10,
      maxPositions: 64,
      rmsEps: 1e-6,
      ropeTheta: 10000,
      rope: { type: 'default' },
      tieWordEmbeddings: false,
      qkNorm: false,
      slidingWindow: null,
      qkRowsInterleaved: false,
      moe: null,
      dtype: 'float32',
      bosTokenId: null,
      eosTokenIds: [],
    });
  });

  it('takes head_dim from the config over hidden_size / num_attention_heads', () => {
    expect(spec({ head_dim: 8 }).headDim).toBe(8);
    expect(spec({ head_dim: null }).headDim).toBe(4);
  });

  it('rejects a head size that is not an integer', () => {
    expect(() => spec({ hidden_size: 18 })).toThrow(
      /config\.json: hidden_size \(18\) is not a multiple of num_attention_heads \(4\) and no head_dim is given/,
    );
  });

  it('uses the Qwen3 class default head_dim of 128 and turns on q/k norm', () => {
    const s = spec({ architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3' });
    expect(s.headDim).toBe(128);
    expect(s.qkNorm).toBe(true);
    expect(qwen2().qkNorm).toBe(false);
  });

  it('defaults num_key_value_heads per class when absent and to num_attention_heads when null', () => {
    const { num_key_value_heads: _, ...noKv } = tinyConfig({ num_attention_heads: 16, head_dim: 4 });
    expect(parseModelSpec(noKv, undefined, SRC).numKvHeads).toBe(16);
    expect(parseModelSpec({ ...noKv, architectures: ['MistralForCausalLM'] }, undefined, SRC).numKvHeads).toBe(8);
    expect(spec({ num_key_value_heads: null }).numKvHeads).toBe(4);
  });

  it('rejects num_attention_heads that is not a multiple of num_key_value_heads', () => {
    expect(() => spec({ num_key_value_heads: 3 })).toThrow(
      /num_attention_heads \(4\) must be a multiple of num_key_value_heads \(3\)/,
    );
  });

  it('names a missing or malformed required integer', () => {
    const { vocab_size: _, ...noVocab } = tinyConfig();
    expect(() => parseModelSpec(noVocab, undefined, SRC)).toThrow(/config\.json: 'vocab_size' is missing/);
    expect(() => spec({ intermediate_size: 24.5 })).toThrow(/'intermediate_size' must be a positive integer, found 24\.5/);
    expect(() => spec({ num_hidden_layers: '2' })).toThrow(/'num_hidden_layers' must be a positive integer, found "2"/);
    expect(() => spec({ max_position_embeddings: 0 })).toThrow(/'max_position_embeddings' must be a positive integer/);
    expect(() => spec({ num_hidden_layers: 0 })).toThrow(ModelError);
  });

  it('rejects an unsupported architecture and lists the supported ones', () => {
    expect(() => spec({ architectures: ['GPT2LMHeadModel'] })).toThrow(
      /architecture "GPT2LMHeadModel" is not supported \(supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MixtralForCausalLM, Qwen2MoeForCausalLM, Qwen3MoeForCausalLM\)/,
    );
  });

  it('falls back on model_type when architectures is missing', () => {
    const { architectures: _, ...config } = tinyConfig({ model_type: 'qwen2' });
    expect(parseModelSpec(config, undefined, SRC).architecture).toBe('Qwen2ForCausalLM');
    expect(() => parseModelSpec({ ...config, model_type: 'gpt2' }, undefined, SRC)).toThrow(
      /no 'architectures' and model_type "gpt2" is not one of llama, mistral, qwen2, qwen3/,
    );
  });

  it('rejects an activation other than silu', () => {
    expect(() => spec({ hidden_act: 'gelu_pytorch_tanh' })).toThrow(/hidden_act "gelu_pytorch_tanh" is not supported \(only "silu"\)/);
  });

  it('reads the dtype from transformers-5 dtype before torch_dtype, defaulting to float32', () => {
    expect(spec({ torch_dtype: 'bfloat16' }).dtype).toBe('bfloat16');
    expect(spec({ torch_dtype: 'bfloat16', dtype: 'float16' }).dtype).toBe('float16');
    expect(spec({ torch_dtype: undefined }).dtype).toBe('float32');
    expect(() => spec({ dtype: 'float8_e4m3fn' })).toThrow(
      /dtype "float8_e4m3fn" is not supported \(supported: float32, float16, bfloat16\)/,
    );
    expect(() => spec({ torch_dtype: 'int8' })).toThrow(/torch_dtype "int8" is not supported/);
  });

  it('rejects a malformed rms_norm_eps', () => {
    expect(spec({ rms_norm_eps: 1e-5 }).rmsEps).toBe(1e-5);
    expect(() => spec({ rms_norm_eps: '1e-5' })).toThrow(/'rms_norm_eps' must be a positive number, found "1e-5"/);
  });
});

describe('RoPE parsing', () => {
  const llama3 = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  const llama3Spec = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };

  it('defaults to theta 10000 without scaling', () => {
    expect(spec({ rope_scaling: null })).toMatchObject({ ropeTheta: 10000, rope: { type: 'default' } });
    expect(spec({ rope_theta: 1e6 })).toMatchObject({ ropeTheta: 1e6, rope: { type: 'default' } });
  });

  it('reads llama3 scaling from rope_scaling, with rope_type or the legacy type key', () => {
    expect(spec({ rope_theta: 500000, rope_scaling: { rope_type: 'llama3', ...llama3 } })).toMatchObject({
      ropeTheta: 500000,
      rope: llama3Spec,
    });
    expect(spec({ rope_scaling: { type: 'linear', factor: 2 } }).rope).toEqual({ type: 'linear', factor: 2 });
  });

  it('reads transformers-5 rope_parameters, theta included', () => {
    const s = spec({ rope_parameters: { rope_type: 'llama3', rope_theta: 500000, ...llama3 } });
    expect(s.ropeTheta).toBe(500000);
    expect(s.rope).toEqual(llama3Spec);
    expect(spec({ rope_theta: 1234, rope_parameters: { rope_type: 'default' } }).ropeTheta).toBe(1234);
    expect(spec({ rope_parameters: { full_attention: { rope_type: 'linear', factor: 4, rope_theta: 99 } } })).toMatchObject({
      ropeTheta: 99,
      rope: { type: 'linear', factor: 4 },
    });
  });

  it('lets a non-empty legacy rope_scaling win over rope_parameters, as transformers 5 does', () => {
    const s = spec({ rope_scaling: { rope_type: 'linear', factor: 2 }, rope_parameters: { rope_type: 'default', rope_theta: 7 } });
    expect(s.rope).toEqual({ type: 'linear', factor: 2 });
    expect(spec({ rope_scaling: {}, rope_parameters: { rope_type: 'linear', factor: 3 } }).rope).toEqual({ type: 'linear', factor: 3 });
  });

  it('names the missing llama3 field', () => {
    const { low_freq_factor: _, ...partial } = llama3;
    expect(() => spec({ rope_scaling: { rope_type: 'llama3', ...partial } })).toThrow(
      /'rope_scaling\.low_freq_factor' is missing \(required for "llama3" RoPE scaling\)/,
    );
    expect(() => spec({ rope_parameters: { rope_type: 'linear' } })).toThrow(/'rope_parameters\.factor' is missing/);
  });

  it('rejects unsupported scaling types', () => {
    expect(() => spec({ rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } })).toThrow(
      /config\.json: RoPE scaling type 'yarn' is not supported \(supported: default, linear, llama3\)/,
    );
    expect(() => spec({ rope_parameters: { rope_type: 'dynamic', factor: 2 } })).toThrow(/RoPE scaling type 'dynamic' is not supported/);
    expect(() => spec({ rope_scaling: 'linear' })).toThrow(/'rope_scaling' must be an object or null, found "linear"/);
  });
});

describe('sliding window', () => {
  const mistral = (overrides: Record<string, unknown>) =>
    spec({ architectures: ['MistralForCausalLM'], model_type: 'mistral', ...overrides });

  it('keeps Mistral sliding_window, including the class default when the key is absent', () => {
    expect(mistral({ sliding_window: 4096 }).slidingWindow).toBe(4096);
    expect(mistral({ sliding_window: null }).slidingWindow).toBeNull();
    expect(mistral({}).slidingWindow).toBe(4096);
    expect(() => mistral({ sliding_window: -1 })).toThrow(/'sliding_window' must be a positive integer or null, found -1/);
  });

  it('ignores sliding_window for Llama and for Qwen when use_sliding_window is false', () => {
    expect(spec({ sliding_window: 4096 }).slidingWindow).toBeNull();
    expect(qwen2({ use_sliding_window: false, sliding_window: 4096, max_window_layers: 0 }).slidingWindow).toBeNull();
    expect(qwen2({ layer_types: ['full_attention', 'full_attention'] }).slidingWindow).toBeNull();
  });

  it('rejects Qwen layers that would use sliding-window attention', () => {
    expect(() => qwen2({ use_sliding_window: true, sliding_window: 4096, max_window_layers: 1 })).toThrow(
      /sliding-window attention for Qwen2ForCausalLM is not supported \(use_sliding_window is true and max_window_layers=1 < num_hidden_layers=2\)/,
    );
    expect(() => spec({ architectures: ['Qwen3ForCausalLM'], use_sliding_window: true, max_window_layers: 0 })).toThrow(
      /sliding-window attention for Qwen3ForCausalLM is not supported/,
    );
    expect(() => qwen2({ layer_types: ['full_attention', 'sliding_attention'] })).toThrow(
      /sliding-window attention for Qwen2ForCausalLM is not supported \(layer_types contains "sliding_attention"\)/,
    );
  });

  it('accepts use_sliding_window when no layer reaches max_window_layers, as transformers does', () => {
    expect(qwen2({ use_sliding_window: true, sliding_window: 4096, max_window_layers: 28 }).slidingWindow).toBeNull();
  });
});

describe('tokens and embeddings', () => {
  it('unites eos ids of generation_config and config, in order and without duplicates', () => {
    const s = spec({ eos_token_id: 128001, bos_token_id: 1 }, { eos_token_id: [128001, 128008, 128009], bos_token_id: 128000 });
    expect(s.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(s.bosTokenId).toBe(128000);
    expect(spec({ eos_token_id: [2, 3], bos_token_id: 1 }, { eos_token_id: 7 })).toMatchObject({
      eosTokenIds: [7, 2, 3],
      bosTokenId: 1,
    });
  });

  it('rejects malformed token ids and names the file they came from', () => {
    expect(() => spec({}, { eos_token_id: ['</s>'] })).toThrow(/generation_config\.json 'eos_token_id' must be a token id/);
    expect(() => spec({ bos_token_id: -1 })).toThrow(/config\.json 'bos_token_id' must be a token id/);
  });

  it('defaults tie_word_embeddings to false as the four config classes do', () => {
    expect(spec({ tie_word_embeddings: undefined }).tieWordEmbeddings).toBe(false);
    expect(spec({ tie_word_embeddings: true }).tieWordEmbeddings).toBe(true);
    expect(() => spec({ tie_word_embeddings: 'yes' })).toThrow(/'tie_word_embeddings' must be true or false, found "yes"/);
  });
});

describe('parseModelConfig biases', () => {
  const biases = (arch: string, overrides: Record<string, unknown> = {}) =>
    parseModelConfig(tinyConfig({ architectures: [arch], ...overrides }), undefined, SRC).biases;

  it('mirrors the bias arguments of each transformers module', () => {
    expect(biases('LlamaForCausalLM')).toEqual({ qkv: false, o: false, mlp: false });
    expect(biases('LlamaForCausalLM', { attention_bias: true, mlp_bias: true })).toEqual({ qkv: true, o: true, mlp: true });
    expect(biases('Qwen2ForCausalLM')).toEqual({ qkv: true, o: false, mlp: false });
    expect(biases('Qwen3ForCausalLM', { attention_bias: true, mlp_bias: true })).toEqual({ qkv: true, o: true, mlp: false });
    expect(biases('MistralForCausalLM', { attention_bias: true })).toEqual({ qkv: false, o: false, mlp: false });
  });

  it('rejects non-boolean bias flags', () => {
    expect(() => biases('LlamaForCausalLM', { attention_bias: 1 })).toThrow(/'attention_bias' must be true or false, found 1/);
    expect(() => biases('LlamaForCausalLM', { mlp_bias: 'false' })).toThrow(/'mlp_bias' must be true or false, found "false"/);
  });
});

describe('mixture-of-experts configs', () => {
  const moe = (architecture: string, modelType: string, overrides: Record<string, unknown> = {}) =>
    spec({ architectures: [architecture], model_type: modelType, num_hidden_layers: 4, ...overrides });

  it('Mixtral: every layer sparse, experts as wide as intermediate_size, always renormalised, class defaults', () => {
    const s = moe('MixtralForCausalLM', 'mixtral', { num_key_value_heads: 2 });
    expect(s.moe).toEqual({ numExperts: 8, topK: 2, expertIntermediateSize: 24, sharedExpertIntermediateSize: null, normTopkProb: true, sparseLayers: [0, 1, 2, 3] });
    expect(s.slidingWindow).toBeNull();
    expect(moe('MixtralForCausalLM', 'mixtral', { num_key_value_heads: 2, sliding_window: 32 }).slidingWindow).toBe(32);
  });

  it('Qwen2-MoE: decoder_sparse_step and mlp_only_layers choose the sparse layers; the shared expert and norm_topk_prob are read', () => {
    const s = moe('Qwen2MoeForCausalLM', 'qwen2_moe', {
      num_key_value_heads: 2, num_experts: 6, num_experts_per_tok: 3, moe_intermediate_size: 8,
      shared_expert_intermediate_size: 12, decoder_sparse_step: 2, mlp_only_layers: [3], norm_topk_prob: true,
    });
    expect(s.moe).toEqual({ numExperts: 6, topK: 3, expertIntermediateSize: 8, sharedExpertIntermediateSize: 12, normTopkProb: true, sparseLayers: [1] });
    expect(moe('Qwen2MoeForCausalLM', 'qwen2_moe', { num_key_value_heads: 2, num_experts: 0 }).moe).toBeNull();
  });

  it('Qwen3-MoE: q/k norms, head_dim defaults to hidden / heads, class defaults for the experts', () => {
    const s = moe('Qwen3MoeForCausalLM', 'qwen3_moe', { num_key_value_heads: 2 });
    expect(s.qkNorm).toBe(true);
    expect(s.headDim).toBe(4);
    expect(s.moe).toEqual({ numExperts: 128, topK: 8, expertIntermediateSize: 768, sharedExpertIntermediateSize: null, normTopkProb: false, sparseLayers: [0, 1, 2, 3] });
  });

  it('refuses top-k above the expert count, and sliding windows on the MoE Qwens', () => {
    expect(() => moe('Qwen3MoeForCausalLM', 'qwen3_moe', { num_key_value_heads: 2, num_experts: 4, num_experts_per_tok: 5 })).toThrow(
      /num_experts_per_tok \(5\) is more than num_experts \(4\)/,
    );
    expect(() => moe('Qwen2MoeForCausalLM', 'qwen2_moe', { num_key_value_heads: 2, use_sliding_window: true })).toThrow(
      /sliding-window attention for Qwen2MoeForCausalLM is not supported \(use_sliding_window is true\)/,
    );
  });
});
