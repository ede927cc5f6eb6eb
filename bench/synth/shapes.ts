// Real model shapes, as the config.json their Hugging Face repos publish, so that a synthetic
// checkpoint times the model it is named after. Nothing here may come from memory: each config
// was checked against copies of the published file (see the comment above each entry); a wrong
// number would make every timing printed for that shape a timing of some other model.
//
// The search index used for checking holds no file of the official Hugging Face repos
// themselves, so each config was rebuilt from several independent copies: other repos that vendor
// the file verbatim, Hub repos re-saved from it (their `_name_or_path` names the source), and the
// model cards (parameter counts, file sizes). Where copies disagreed, the comment says which won
// and why.

import { UserError } from '../errors.js';
import { parseModelConfig } from '../model/config.js';
import { isJsonObject } from '../model/json.js';
import { SYNTH_VERSION } from './checkpoint.js';
import { BOS_ID, EOS_ID } from './tokenizer.js';

export type HfConfig = Record<string, unknown>;

export interface ShapeInfo {
  /** The Hugging Face repo whose config.json this is. */
  hfRepo: string;
  description: string;
  /** config.json as published (deep-frozen; shapeConfig hands out copies). */
  config: Readonly<HfConfig>;
  /** countParams(config): every weight of the full model, embeddings included. */
  params: number;
  /** The parameter count its authors publish, and where; tests hold `params` to it. */
  published: { params: number; source: string };
}

/** Key under which a synthetic checkpoint's config.json records how it was made. */
export const PROVENANCE_KEY = 'rabbit_bench';

// HuggingFaceTB/SmolLM2-135M. Verified against: two verbatim copies in Rust test fixtures (one
// headed "SmolLM2-135M's config.json, verbatim apart from line breaks"; found by exact-string
// search, which does not name their repos) and a "# HuggingFaceTB/SmolLM2-135M / model config"
// dump, all identical to this object; the Hub re-saves Rea-per/smol_course_module1 and
// rajrin/SmolLM2-FT-MyDataset (`_name_or_path` HuggingFaceTB/SmolLM2-135M: same shape numbers,
// plus the head_dim 64 newer transformers add on save; their bos/eos 1/2 come from chat
// fine-tuning); Athu7/nano-smollm2 model.py (block_size 8192, rope_theta 100000). Conflict:
// satyasundar/erav3-s13 README prints max_position_embeddings 2048 (and rope_theta 100000), like
// the nanotron training config used by that course; every verbatim copy has 8192, kept here.
// The file has no head_dim key (hidden 576 / 9 heads = 64). Published: 134,515,008 parameters
// (the total printed in satyasundar/erav3-s13 README; the card rounds it to 135M).
const SMOLLM2_135M: HfConfig = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 0,
  eos_token_id: 0,
  hidden_act: 'silu',
  hidden_size: 576,
  initializer_range: 0.041666666666666664,
  intermediate_size: 1536,
  is_llama_config: true,
  max_position_embeddings: 8192,
  model_type: 'llama',
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_interleaved: false,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  vocab_size: 49152,
};

// Qwen/Qwen2.5-0.5B. Verified against: a "# Qwen/Qwen2.5-0.5B / model config" dump of the file
// (with the printed module tree: q/k/v bias=True, Embedding(151936, 896)); the Hub re-save
// artificialguybr/QWEN-2.5-0.5B-Synthia-I (`_name_or_path` Qwen/Qwen2.5-0.5B); the model card
// mirrored in ZHUI/paddlenlp_model_readme Qwen/Qwen2.5-0.5B/index.md (0.49B parameters, 0.36B
// non-embedding, 24 layers, 14 Q / 2 KV heads, tied embeddings, model.safetensors 942.3 MiB =
// 494M bf16 parameters, config.json 675 bytes). That mirror's config sizes are reproduced to the
// byte by these objects serialised as transformers does (Python json, indent 2), provided its
// files carry `dtype` where the Hub has `torch_dtype` (6 bytes shorter) — true alike for this
// one, Qwen2.5-7B and Llama-3.2-1B, which checks the key set and the number spelling. No
// rope_scaling key in the published file. Sliding window is off (use_sliding_window false), as
// the loader requires.
const QWEN25_05B: HfConfig = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  use_mrope: false,
  use_sliding_window: false,
  vocab_size: 151936,
};

// meta-llama/Llama-3.2-1B. Verified against: kevinstephano/thunder_model_blocks
// hf_llama/llama_config.py (LLAMA_3_2_1B_CFG, with the Hub commit hash); the Hub re-saves
// RJ1200/results and halcyon-llm/Llama-halcyon-1B-patch-checkpoint-1400 (`_name_or_path`
// meta-llama/Llama-3.2-1B); citsjtu2020/LLM-Prof sglang/Model_Config.md (Llama-3.2-3B, same key
// set); the model card in ZHUI/paddlenlp_model_readme meta-llama/Llama-3.2-1B/index.md (1.23B
// parameters, shared embeddings, config.json 837 bytes: reproduced, see Qwen2.5-0.5B).
// The base model's eos is 128001; the Instruct model's list [128001, 128008, 128009] is not used.
const LLAMA32_1B: HfConfig = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

// Qwen/Qwen2.5-7B. Verified against: citsjtu2020/LLM-Prof sglang/Model_Config.md ("Qwen2.5-7B");
// the Hub re-saves fblgit/cybertron-v4-qw7B-MGS and EVA-UNIT-01/EVA-Qwen2.5-7B-v0.0
// (`_name_or_path` Qwen/Qwen2.5-7B: same shape numbers, 131072 positions); the printed module tree
// in Retruth/deontic nlp_models/qwen2/README.md (Embedding(152064, 3584), k_proj 3584→512 with
// bias, untied lm_head); the model card in ZHUI/paddlenlp_model_readme Qwen/Qwen2.5-7B/index.md
// (7.61B parameters, 6.53B non-embedding, 28 layers, 28 Q / 4 KV heads, config.json 680 bytes:
// reproduced, see Qwen2.5-0.5B). Note: the vocab is 152064 here but 151936 in the 0.5B model.
const QWEN25_7B: HfConfig = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 3584,
  initializer_range: 0.02,
  intermediate_size: 18944,
  max_position_embeddings: 131072,
  max_window_layers: 28,
  model_type: 'qwen2',
  num_attention_heads: 28,
  num_hidden_layers: 28,
  num_key_value_heads: 4,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 131072,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  use_mrope: false,
  use_sliding_window: false,
  vocab_size: 152064,
};

// meta-llama/Llama-3.1-70B (first published as meta-llama/Meta-Llama-3.1-70B). Verified against:
// the Hub re-save hugging-quants/Meta-Llama-3.1-70B-BNB-NF4-BF16 (`_name_or_path`
// meta-llama/Meta-Llama-3.1-70B: bos 128000, eos 128001, 131072 positions, llama3 RoPE factor 8,
// untied, mlp_bias false); vulkomilev/oumi configs/recipes/llama3_1/README.md (vocab 128256,
// hidden 8192, MLP 28672, 80 layers, 64 heads, 8 KV heads, no tying); the Llama-3.1-8B base file
// in citsjtu2020/LLM-Prof sglang/Model_Config.md (same key set and transformers_version
// 4.43.0.dev0, rope_scaling keys in this order); the model card in ZHUI/paddlenlp_model_readme
// meta-llama/Meta-Llama-3.1-70B/index.md (70B, 30 shards ≈ 131 GiB bf16). Not verified: that
// mirror lists config.json at 779 bytes, ~40 bytes less than this object serialises to, so some
// non-shape key (initializer_range, transformers_version, ...) may differ from the published file;
// every shape key agrees across all the copies above.
const LLAMA31_70B: HfConfig = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  hidden_act: 'silu',
  hidden_size: 8192,
  initializer_range: 0.02,
  intermediate_size: 28672,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 64,
  num_hidden_layers: 80,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.43.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

// Qwen/Qwen3-0.6B. Verified against: the verbatim copy TensorStack/TextEncoder
// Qwen-3-06B/config.json on the Hub (726 bytes; this object serialises to exactly that);
// citsjtu2020/LLM-Prof sglang/Model_Config.md (Qwen3-4B/8B/14B: same key set, head_dim 128,
// transformers 4.51.0); the model card as quoted by docs.m5stack.com (0.6B parameters, 0.44B
// non-embedding, 28 layers, 16 Q / 8 KV heads). head_dim 128 is free (16 × 128 ≠ 1024).
const QWEN3_06B: HfConfig = {
  architectures: ['Qwen3ForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 1024,
  initializer_range: 0.02,
  intermediate_size: 3072,
  max_position_embeddings: 40960,
  max_window_layers: 28,
  model_type: 'qwen3',
  num_attention_heads: 16,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: null,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.51.0',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

// mistralai/Mistral-7B-v0.1. Verified against: the Hub re-saves dmayboroda/42_mistral_0.1,
// Pplus/mistral-health-faq, timhoek/autotrain-pn74j-6rvlj and Undi95/Mistral-RP-0.1-7B (all
// `_name_or_path` mistralai/Mistral-7B-v0.1 or its local copy: identical shape keys, sliding
// window 4096, rope_theta 10000, vocab 32000, untied); apxml.com's spec sheet (32 heads, 8 KV,
// 14336 MLP, window 4096). The bf16 torch_dtype and transformers_version 4.34.0.dev0 are those of
// the re-saves that kept the original dtype (Open-Orca, Undi95); not verified byte for byte.
// Published: 7.3B in Mistral's announcement, 7.2B on the Hub.
const MISTRAL_7B: HfConfig = {
  architectures: ['MistralForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mistral',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.34.0.dev0',
  use_cache: true,
  vocab_size: 32000,
};

// mistralai/Mixtral-8x7B-v0.1 (base). Verified against: NVIDIA/TensorRT-LLM
// tests/unittest/_torch/modeling/test_modeling_mixtral.py (MIXTRAL_8X7B_CONFIG, the full file),
// a blog post printing the JSON of huggingface.co/mistralai/Mixtral-8x7B-v0.1/blob/main/config.json,
// and two more vendored copies (a C++ comment, a Python docstring), all key for key identical;
// scaleapi/llm-engine test_llm_use_cases.py (a partial copy, same values). Re-saves by later
// transformers add head_dim 128 (4096 / 32), which the published file lacks. Published: "Mixtral
// has 46.7B total parameters but only uses 12.9B parameters per token" (mistral.ai announcement).
const MIXTRAL_8X7B: HfConfig = {
  architectures: ['MixtralForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mixtral',
  num_attention_heads: 32,
  num_experts_per_tok: 2,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  num_local_experts: 8,
  output_router_logits: false,
  rms_norm_eps: 1e-5,
  rope_theta: 1000000.0,
  router_aux_loss_coef: 0.02,
  sliding_window: null,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.36.0.dev0',
  use_cache: true,
  vocab_size: 32000,
};

// Qwen/Qwen3-30B-A3B (the main repo, not -Base). Verified against: Qwen's own FP8 re-save as
// vendored in xiaowanCN/aiconfigurator model_configs/Qwen--Qwen3-30B-A3B-FP8_config.json (every
// key here, plus its quantization_config); the GPTQ-Int4 re-save's config pasted in a GitHub issue
// (same, but float16 and transformers 4.51.3); a Rust test fixture (identical but for
// transformers_version); huggingface/trl#5716 ("Align tiny Qwen3 MoE config with
// Qwen/Qwen3-30B-A3B": 40960 positions, rope_theta 1e6, norm_topk_prob true, bos 151643, eos 151645,
// head_dim 128). Copies with 262144 positions are the 2507 repos. head_dim 128 is free (32 × 128 ≠
// 2048); intermediate_size is unused, every layer being sparse. Published: "Number of Parameters:
// 30.5B in total and 3.3B activated" (model card).
const QWEN3_30B_A3B: HfConfig = {
  architectures: ['Qwen3MoeForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 151643,
  decoder_sparse_step: 1,
  eos_token_id: 151645,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 6144,
  max_position_embeddings: 40960,
  max_window_layers: 48,
  mlp_only_layers: [],
  model_type: 'qwen3_moe',
  moe_intermediate_size: 768,
  norm_topk_prob: true,
  num_attention_heads: 32,
  num_experts: 128,
  num_experts_per_tok: 8,
  num_hidden_layers: 48,
  num_key_value_heads: 4,
  output_router_logits: false,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000.0,
  router_aux_loss_coef: 0.001,
  sliding_window: null,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.51.0',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

// Qwen/Qwen2-57B-A14B (base). Verified against: NVIDIA/TensorRT-LLM
// tests/unittest/_torch/modeling/test_modeling_qwen_moe.py (QWEN2_57B_A14B_CONFIG, the full file);
// alibaba/Pai-Megatron-Patch hf2mcore_qwen2_convertor.sh, A14B block (every shape number, sliding
// window 131072, max_window_layers 28) and run_mcore_qwen.sh (q/k/v bias, untied). eos 151643 and
// 131072 positions follow the Qwen2 base models (Instruct uses eos 151645). q/k/v biases come with
// the architecture (qkv_bias defaults to true); intermediate_size is unused, every layer being
// sparse. Published: "Qwen2-57B-A14B (57.41 B total, 56.32 B non-embedding)" (Qwen2 blog table).
const QWEN2_57B_A14B: HfConfig = {
  architectures: ['Qwen2MoeForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  decoder_sparse_step: 1,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 3584,
  initializer_range: 0.02,
  intermediate_size: 18944,
  max_position_embeddings: 131072,
  max_window_layers: 28,
  model_type: 'qwen2_moe',
  moe_intermediate_size: 2560,
  norm_topk_prob: false,
  num_attention_heads: 28,
  num_experts: 64,
  num_experts_per_tok: 8,
  num_hidden_layers: 28,
  num_key_value_heads: 4,
  output_router_logits: false,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  router_aux_loss_coef: 0.001,
  shared_expert_intermediate_size: 20480,
  sliding_window: 131072,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

function shape(hfRepo: string, description: string, config: HfConfig, published: ShapeInfo['published']): ShapeInfo {
  return { hfRepo, description, config: deepFreeze(config), params: countParams(config), published };
}

export const SHAPES: Readonly<Record<string, ShapeInfo>> = Object.freeze({
  'smollm2-135m': shape('HuggingFaceTB/SmolLM2-135M', 'SmolLM2 135M: Llama, GQA 9/3, tied, 30 layers', SMOLLM2_135M, {
    params: 134_515_008,
    source: 'model printout quoted in satyasundar/erav3-s13 README (card: 135M)',
  }),
  'qwen2.5-0.5b': shape('Qwen/Qwen2.5-0.5B', 'Qwen2.5 0.5B: q/k/v bias, GQA 14/2, tied, 24 layers', QWEN25_05B, {
    params: 0.49e9,
    source: 'model card: 0.49B (0.36B non-embedding)',
  }),
  'qwen3-0.6b': shape('Qwen/Qwen3-0.6B', 'Qwen3 0.6B: q/k norm, head_dim 128, GQA 16/8, tied, 28 layers', QWEN3_06B, {
    params: 0.6e9,
    source: 'model card: 0.6B (0.44B non-embedding)',
  }),
  'llama-3.2-1b': shape('meta-llama/Llama-3.2-1B', 'Llama 3.2 1B: llama3 RoPE, GQA 32/8, tied, 16 layers', LLAMA32_1B, {
    params: 1.23e9,
    source: 'model card: 1.23B',
  }),
  'mistral-7b': shape('mistralai/Mistral-7B-v0.1', 'Mistral 7B v0.1: sliding window 4096, GQA 32/8, 32 layers', MISTRAL_7B, {
    params: 7.2e9,
    source: 'Hub: 7.2B (announcement: 7.3B)',
  }),
  'qwen2.5-7b': shape('Qwen/Qwen2.5-7B', 'Qwen2.5 7B: q/k/v bias, GQA 28/4, untied, 28 layers', QWEN25_7B, {
    params: 7.61e9,
    source: 'model card: 7.61B (6.53B non-embedding)',
  }),
  'llama-3.1-70b': shape('meta-llama/Llama-3.1-70B', 'Llama 3.1 70B: llama3 RoPE, GQA 64/8, untied, 80 layers', LLAMA31_70B, {
    params: 70.6e9,
    source: 'Hub: 70.6B (card: 70B)',
  }),
  'mixtral-8x7b': shape('mistralai/Mixtral-8x7B-v0.1', 'Mixtral 8x7B: 8 experts, top-2, GQA 32/8, untied, 32 layers', MIXTRAL_8X7B, {
    params: 46.7e9,
    source: 'mistral.ai announcement: 46.7B total, 12.9B per token',
  }),
  'qwen3-30b-a3b': shape('Qwen/Qwen3-30B-A3B', 'Qwen3-MoE 30B-A3B: 128 experts, top-8, q/k norm, head_dim 128, GQA 32/4, 48 layers', QWEN3_30B_A3B, {
    params: 30.5e9,
    source: 'model card: 30.5B in total, 3.3B activated',
  }),
  'qwen2-57b-a14b': shape('Qwen/Qwen2-57B-A14B', 'Qwen2-MoE 57B-A14B: 64 experts, top-8, shared expert, q/k/v bias, GQA 28/4, 28 layers', QWEN2_57B_A14B, {
    params: 57.41e9,
    source: 'Qwen2 blog: 57.41B total (56.32B non-embedding)',
  }),
});

export function shapeNames(): string[] {
  return Object.keys(SHAPES);
}

export function getShape(name: string): ShapeInfo {
  if (!Object.hasOwn(SHAPES, name)) {
    throw new UserError(`unknown shape '${name}'; known shapes: ${shapeNames().join(', ')}`);
  }
  return SHAPES[name];
}

/**
 * Parameters of the model a config describes, counted the way the loader reads the config (same
 * defaults for absent keys, same bias rules per architecture), so that the count is of the
 * tensors the engine would stream. Throws the loader's ModelError for configs it refuses.
 */
export function countParams(config: HfConfig): number {
  const { spec, biases } = parseModelConfig(config, undefined, 'config');
  const { hiddenSize: h, numHeads, numKvHeads, headDim, intermediateSize: inter, vocabSize, numLayers } = spec;
  const q = numHeads * headDim;
  const kv = numKvHeads * headDim;
  const attention = h * q + 2 * h * kv + q * h + (biases.qkv ? q + 2 * kv : 0) + (biases.o ? h : 0);
  const dense = 3 * h * inter + (biases.mlp ? 2 * inter + h : 0);
  const moe = spec.moe;
  const sparse = moe
    ? moe.numExperts * (h + 3 * h * moe.expertIntermediateSize) + (moe.sharedExpertIntermediateSize ? 3 * h * moe.sharedExpertIntermediateSize + h : 0)
    : 0;
  const sparseLayers = moe?.sparseLayers.length ?? 0;
  const norms = 2 * h + (spec.qkNorm ? 2 * headDim : 0);
  const embeddings = vocabSize * h * (spec.tieWordEmbeddings ? 1 : 2);
  return embeddings + numLayers * (attention + norms) + (numLayers - sparseLayers) * dense + sparseLayers * sparse + h;
}

export interface SynthesisRecord {
  /** Registry name, or null for a config given by path. */
  shape: string | null;
  hfRepo?: string;
  /** Where a config given by path came from. */
  sourceConfig?: string;
  /** Layers to keep; all of them when absent. */
  layers?: number;
  seed?: number;
}

/**
 * A copy of `base` with only the first `layers` decoder layers, recording under PROVENANCE_KEY
 * what was synthesised from what. Every other key stays as published, so the kept layers, the
 * embedding and the lm_head have the real model's shapes.
 */
export function synthConfig(base: Readonly<HfConfig>, record: SynthesisRecord): HfConfig {
  const config = structuredClone(base) as HfConfig;
  const original = config.num_hidden_layers;
  if (typeof original !== 'number' || !Number.isSafeInteger(original) || original <= 0) {
    throw new UserError(`config.num_hidden_layers must be a positive integer, found ${JSON.stringify(original)}`);
  }
  const layers = record.layers ?? original;
  if (!Number.isSafeInteger(layers) || layers < 1 || layers > original) {
    throw new UserError(`--layers must be an integer in [1, ${original}] (the model has ${original} layers), got ${layers}`);
  }
  config.num_hidden_layers = layers;
  config[PROVENANCE_KEY] = {
    synthetic: true,
    shape: record.shape,
    ...(record.hfRepo !== undefined && { hf_repo: record.hfRepo }),
    ...(record.sourceConfig !== undefined && { source_config: record.sourceConfig }),
    original_num_hidden_layers: original,
    ...(record.seed !== undefined && { seed: record.seed }),
    // Same seed and version, same bytes: the version tells a stale checkpoint from a fresh one.
    synth_version: SYNTH_VERSION,
  };
  return config;
}

/** The registry config of `name`, with num_hidden_layers reduced to `layers` when asked. */
export function shapeConfig(name: string, opts: { layers?: number; seed?: number } = {}): HfConfig {
  const info = getShape(name);
  return synthConfig(info.config, { shape: name, hfRepo: info.hfRepo, layers: opts.layers, seed: opts.seed });
}

/**
 * Points bos/eos at the byte-level tokenizer's <s> and </s>, recording the published ids. The
 * real ids would name tokens that tokenizer does not have, so generation would never see them;
 * the vocabulary (and with it the embedding and lm_head shapes) stays the real one.
 */
export function withByteLevelTokenIds(config: HfConfig): HfConfig {
  const out = structuredClone(config);
  const eos = out.eos_token_id;
  const eosOk = eos == null || eos === EOS_ID || (Array.isArray(eos) && eos.includes(EOS_ID));
  if ((out.bos_token_id ?? BOS_ID) === BOS_ID && eosOk) return out;
  const provenance = isJsonObject(out[PROVENANCE_KEY]) ? (out[PROVENANCE_KEY] as HfConfig) : {};
  out[PROVENANCE_KEY] = {
    ...provenance,
    original_bos_token_id: out.bos_token_id ?? null,
    original_eos_token_id: eos ?? null,
  };
  out.bos_token_id = BOS_ID;
  out.eos_token_id = EOS_ID;
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
