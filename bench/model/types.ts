// The plain data that flows from TypeScript (which reads JSON) to the native engine
// (which only reads tensor bytes). Everything the engine needs to know about a model is here.

import type { TensorDtype } from './dtype.js';
import type { ModelSource } from './resolve.js';

export type { TensorDtype } from './dtype.js';

export type Architecture =
  | 'LlamaForCausalLM'
  | 'MistralForCausalLM'
  | 'Qwen2ForCausalLM'
  | 'Qwen3ForCausalLM'
  | 'MixtralForCausalLM'
  | 'Qwen2MoeForCausalLM'
  | 'Qwen3MoeForCausalLM';

export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = [
  'LlamaForCausalLM',
  'MistralForCausalLM',
  'Qwen2ForCausalLM',
  'Qwen3ForCausalLM',
  'MixtralForCausalLM',
  'Qwen2MoeForCausalLM',
  'Qwen3MoeForCausalLM',
];

/**
 * Mixture-of-experts routing as the transformers modules do it: softmax over the router logits,
 * the top-k experts, their weights renormalised to sum 1 when normTopkProb.
 */
export interface MoeSpec {
  numExperts: number;
  topK: number;
  /** Rows of each routed expert's gate/up projection (moe_intermediate_size; Mixtral: intermediate_size). */
  expertIntermediateSize: number;
  /** Qwen2-MoE's shared expert, gated by a sigmoid; null when the architecture has none. */
  sharedExpertIntermediateSize: number | null;
  normTopkProb: boolean;
  /** Decoder layers whose MLP is sparse (decoder_sparse_step and mlp_only_layers), ascending. */
  sparseLayers: number[];
}


/** Checkpoint dtype as written in config.json (`torch_dtype` or transformers-5 `dtype`). */
export type ModelDtype = 'float32' | 'float16' | 'bfloat16';

export type RopeSpec =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositions: number;
    }
  /** GGUF rope_freqs.weight (Llama 3 scaling as llama.cpp stores it): each frequency divided by its factor. */
  | { type: 'factors'; factors: number[] };

/** config.json normalised to what the forward pass needs. */
export interface ModelSpec {
  architecture: Architecture;
  modelType: string;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  rmsEps: number;
  ropeTheta: number;
  rope: RopeSpec;
  tieWordEmbeddings: boolean;
  /** Qwen3: RMSNorm over head_dim applied to q and k before RoPE. */
  qkNorm: boolean;
  /** Mistral: keys further back than this many positions are masked. null = full causal. */
  slidingWindow: number | null;
  /** GGUF llama files: each head's Q/K weight rows in llama.cpp's interleaved order (the engine restores it). */
  qkRowsInterleaved: boolean;
  /** Mixture-of-experts models; null for dense ones. */
  moe: MoeSpec | null;
  /** config.json's torch_dtype, or a GGUF file's type (F32, Q4_K_M, ...). */
  dtype: ModelDtype | string;
  bosTokenId: number | null;
  /** Union of eos ids from generation_config.json and config.json. */
  eosTokenIds: number[];
}

/** One tensor inside one safetensors file: where its bytes are and what they mean. */
export interface TensorRef {
  /** Absolute path of the .safetensors file. */
  file: string;
  /** Absolute byte offset of the tensor data in the file (8 + header length + data_offsets[0]). */
  offset: number;
  bytes: number;
  dtype: TensorDtype;
  shape: number[];
}

/** One routed expert's SwiGLU MLP. */
export interface ExpertTensors {
  gate_proj: TensorRef;
  up_proj: TensorRef;
  down_proj: TensorRef;
}

/**
 * Tensors of one decoder layer, keyed by role (the engine's role names). Optional roles are
 * present exactly when the checkpoint has them (biases, Qwen3 q_norm/k_norm); a dense layer has
 * gate/up/down_proj, a sparse one router and experts (and Qwen2-MoE's shared expert). The plan
 * builder has already checked that the architecture and config agree with what is present.
 */
export interface LayerTensors {
  input_layernorm: TensorRef;
  q_proj: TensorRef;
  k_proj: TensorRef;
  v_proj: TensorRef;
  o_proj: TensorRef;
  q_bias?: TensorRef;
  k_bias?: TensorRef;
  v_bias?: TensorRef;
  o_bias?: TensorRef;
  q_norm?: TensorRef;
  k_norm?: TensorRef;
  post_attention_layernorm: TensorRef;
  gate_proj?: TensorRef;
  up_proj?: TensorRef;
  down_proj?: TensorRef;
  gate_bias?: TensorRef;
  up_bias?: TensorRef;
  down_bias?: TensorRef;
  router?: TensorRef;
  experts?: ExpertTensors[];
  shared_gate_proj?: TensorRef;
  shared_up_proj?: TensorRef;
  shared_down_proj?: TensorRef;
  shared_expert_gate?: TensorRef;
}

/** Every tensor of a layer, its experts' included. */
export function layerTensorRefs(layer: LayerTensors): TensorRef[] {
  const { experts, ...roles } = layer;
  const refs = Object.values(roles).filter((t): t is TensorRef => t !== undefined);
  for (const e of experts ?? []) refs.push(e.gate_proj, e.up_proj, e.down_proj);
  return refs;
}

export interface LoadPlan {
  /** Resolved model folder (a snapshot folder for Hub ids; the folder of a GGUF file). */
  modelDir: string;
  source: ModelSource;
  /** How rabbit-bench synth made the model (its config.json or GGUF record), if it did. */
  provenance: Record<string, unknown> | undefined;
  spec: ModelSpec;
  embed: TensorRef;
  finalNorm: TensorRef;
  /** For tied embeddings this is the same TensorRef as `embed`. */
  lmHead: TensorRef;
  lmHeadTied: boolean;
  layers: LayerTensors[];
  /** Every weight file (safetensors or GGUF) the plan reads from. */
  files: string[];
  /** Checkpoint tensors the forward pass does not use (e.g. old rotary inv_freq buffers). */
  unusedTensors: string[];
  /** What a user should hear before running it: unused tensors that are not known to be harmless. */
  warnings: string[];
}
