// Which tensors a Hugging Face checkpoint of each supported architecture holds, with their
// shapes and the distribution the synthetic weights are drawn from.

import { MIXTRAL_MOE_NAMES, QWEN_MOE_NAMES, type MoeTensorNames } from '../model/moe-names.js';
import type { Architecture } from '../model/types.js';
import { SUPPORTED_ARCHITECTURES } from '../model/types.js';

/** Weights are mean + std · N(0, 1). */
export interface TensorPlan {
  name: string;
  shape: number[];
  mean: number;
  std: number;
}

export interface CheckpointLayout {
  architecture: Architecture;
  /** Before the first layer: the embedding. */
  head: TensorPlan[];
  layers: TensorPlan[][];
  /** After the last layer: final norm and, when untied, lm_head. */
  tail: TensorPlan[];
}

// Scales chosen so that a random model behaves like a model rather than noise or a constant,
// tuned on the fixtures by how often greedy decoding sticks on one token:
// - every projection maps unit-RMS inputs to unit-RMS outputs (std 1/sqrt(fan_in)), except
// - o_proj and down_proj, which write into the residual stream RESIDUAL_GAIN times louder, so
//   the token embedding is a small part of the residual as in trained models (with tied
//   embeddings a large share makes every token predict itself);
// - q_proj is QUERY_GAIN times louder, so attention scores have std ≈ 3 and heads pick positions
//   instead of averaging the whole context, which drives a random model into repeating a token;
// - the output embedding gives logits with std ≈ LOGIT_STD after the final norm, tied or not,
//   which keeps greedy top-2 gaps well away from ties;
// - biases and norm weights are perturbed enough that an engine ignoring them gets visibly
//   different logits, but biases stay small because a bias shared by all positions pulls them
//   all toward the same tokens.
const RESIDUAL_GAIN = 4;
const QUERY_GAIN = 3;
const LOGIT_STD = 3;
const BIAS_STD = 0.1;
const NORM_STD = 0.1;
// Router logits with std ≈ ROUTER_GAIN: each token prefers a few experts clearly (top-k gaps stay
// far above f32 rounding, so routing is the same in every engine) and tokens spread over all of them.
const ROUTER_GAIN = 2;

export function checkpointLayout(config: Record<string, unknown>): CheckpointLayout {
  const architecture = architectureOf(config);
  const hidden = int(config, 'hidden_size');
  const intermediate = int(config, 'intermediate_size');
  const numLayers = int(config, 'num_hidden_layers');
  const heads = int(config, 'num_attention_heads');
  const vocab = int(config, 'vocab_size');
  // Defaults as transformers applies them when a key is absent: kv heads = heads only for Llama
  // (Mistral and Qwen fall back to fixed counts), head_dim = hidden / heads except for Qwen3
  // (128). Where the default is a fixed number the key must be spelled out.
  const isLlama = architecture === 'LlamaForCausalLM';
  const isQwen3 = architecture === 'Qwen3ForCausalLM';
  const qkNorm = isQwen3 || architecture === 'Qwen3MoeForCausalLM';
  const kvHeads = isLlama && config.num_key_value_heads == null ? heads : int(config, 'num_key_value_heads');
  const headDim = !isQwen3 && config.head_dim == null ? hidden / heads : int(config, 'head_dim');
  if (!Number.isInteger(headDim)) throw new Error(`hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}`);
  if (heads % kvHeads !== 0) throw new Error(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const tied = bool(config, 'tie_word_embeddings', false);

  // Bias placement per architecture, as in transformers' modeling files.
  const attnBias = isLlama || qkNorm ? bool(config, 'attention_bias', false) : false;
  const qkvBias =
    attnBias || architecture === 'Qwen2ForCausalLM' || (architecture === 'Qwen2MoeForCausalLM' && bool(config, 'qkv_bias', true));
  const mlpBias = isLlama ? bool(config, 'mlp_bias', false) : false;

  const linear = (name: string, out: number, inp: number, bias: boolean, gain = 1): TensorPlan[] => [
    { name: `${name}.weight`, shape: [out, inp], mean: 0, std: gain / Math.sqrt(inp) },
    ...(bias ? [{ name: `${name}.bias`, shape: [out], mean: 0, std: BIAS_STD }] : []),
  ];
  const norm = (name: string, size: number): TensorPlan => ({ name: `${name}.weight`, shape: [size], mean: 1, std: NORM_STD });
  const embedStd = LOGIT_STD / Math.sqrt(hidden);

  const moe = moeLayout(config, architecture, numLayers);
  const mlp = (prefix: string, inter: number, names = { gate: 'gate_proj', up: 'up_proj', down: 'down_proj' }, bias = false): TensorPlan[] => [
    ...linear(`${prefix}.${names.gate}`, inter, hidden, bias),
    ...linear(`${prefix}.${names.up}`, inter, hidden, bias),
    ...linear(`${prefix}.${names.down}`, hidden, inter, bias, RESIDUAL_GAIN),
  ];
  const sparseMlp = (p: string): TensorPlan[] => {
    if (!moe) return [];
    const block = `${p}.${moe.names.block}`;
    return [
      ...linear(`${block}.gate`, moe.experts, hidden, false, ROUTER_GAIN),
      ...Array.from({ length: moe.experts }, (_, e) => mlp(`${block}.experts.${e}`, moe.expertIntermediate, moe.names)).flat(),
      ...(moe.sharedIntermediate ? [...mlp(`${block}.shared_expert`, moe.sharedIntermediate), ...linear(`${block}.shared_expert_gate`, 1, hidden, false)] : []),
    ];
  };

  const layers: TensorPlan[][] = [];
  for (let i = 0; i < numLayers; i++) {
    const p = `model.layers.${i}`;
    layers.push([
      norm(`${p}.input_layernorm`, hidden),
      ...linear(`${p}.self_attn.q_proj`, heads * headDim, hidden, qkvBias, QUERY_GAIN),
      ...linear(`${p}.self_attn.k_proj`, kvHeads * headDim, hidden, qkvBias),
      ...linear(`${p}.self_attn.v_proj`, kvHeads * headDim, hidden, qkvBias),
      ...linear(`${p}.self_attn.o_proj`, hidden, heads * headDim, attnBias, RESIDUAL_GAIN),
      ...(qkNorm ? [norm(`${p}.self_attn.q_norm`, headDim), norm(`${p}.self_attn.k_norm`, headDim)] : []),
      norm(`${p}.post_attention_layernorm`, hidden),
      ...(moe?.sparse.includes(i) ? sparseMlp(p) : mlp(`${p}.mlp`, intermediate, undefined, mlpBias)),
    ]);
  }
  return {
    architecture,
    head: [{ name: 'model.embed_tokens.weight', shape: [vocab, hidden], mean: 0, std: embedStd }],
    layers,
    tail: [
      norm('model.norm', hidden),
      ...(tied ? [] : [{ name: 'lm_head.weight', shape: [vocab, hidden], mean: 0, std: embedStd }]),
    ],
  };
}

interface MoeLayout {
  experts: number;
  expertIntermediate: number;
  sharedIntermediate: number;
  sparse: number[];
  names: MoeTensorNames;
}

/** The MoE keys as transformers reads them (see bench/model/config.ts); they must be spelled out here. */
function moeLayout(config: Record<string, unknown>, architecture: Architecture, numLayers: number): MoeLayout | null {
  const all = Array.from({ length: numLayers }, (_, i) => i);
  if (architecture === 'MixtralForCausalLM') {
    return {
      experts: int(config, 'num_local_experts'),
      expertIntermediate: int(config, 'intermediate_size'),
      sharedIntermediate: 0,
      sparse: all,
      names: MIXTRAL_MOE_NAMES,
    };
  }
  if (architecture !== 'Qwen2MoeForCausalLM' && architecture !== 'Qwen3MoeForCausalLM') return null;
  const step = (config.decoder_sparse_step as number | undefined) ?? 1;
  const mlpOnly = (config.mlp_only_layers as number[] | undefined) ?? [];
  return {
    experts: int(config, 'num_experts'),
    expertIntermediate: int(config, 'moe_intermediate_size'),
    sharedIntermediate: architecture === 'Qwen2MoeForCausalLM' ? int(config, 'shared_expert_intermediate_size') : 0,
    sparse: all.filter((i) => !mlpOnly.includes(i) && (i + 1) % step === 0),
    names: QWEN_MOE_NAMES,
  };
}

function architectureOf(config: Record<string, unknown>): Architecture {
  const archs = config.architectures;
  const arch = Array.isArray(archs) && archs.length === 1 ? archs[0] : undefined;
  if (!SUPPORTED_ARCHITECTURES.includes(arch as Architecture)) {
    throw new Error(`config.architectures must be one of ${SUPPORTED_ARCHITECTURES.join(', ')}; got ${JSON.stringify(archs)}`);
  }
  return arch as Architecture;
}

function int(config: Record<string, unknown>, key: string): number {
  const v = config[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new Error(`config.${key} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(config: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = config[key] ?? dflt;
  if (typeof v !== 'boolean') throw new Error(`config.${key} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}
