// The plain data that flows from TypeScript (which reads JSON) to the native engine
// (which only reads tensor bytes). Everything the engine needs to know about a model is here.

import type { TensorDtype } from './dtype.js';
import type { ModelSource } from './resolve.js';

export type { TensorDtype } from './dtype.js';

export type Architecture =
  | 'LlamaForCausalLM'
  | 'MistralForCausalLM'
  | 'Qwen2ForCausalLM'
  | 'Qwen3ForCausalLM';

export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = [
  'LlamaForCausalLM',
  'MistralForCausalLM',
  'Qwen2ForCausalLM',
  'Qwen3ForCausalLM',
];


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

/**
 * Tensors of one decoder layer, keyed by role. Optional roles are present exactly when the
 * checkpoint has them (biases, Qwen3 q_norm/k_norm); the plan builder has already checked that
 * the architecture and config agree with what is present.
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
  gate_proj: TensorRef;
  up_proj: TensorRef;
  down_proj: TensorRef;
  gate_bias?: TensorRef;
  up_bias?: TensorRef;
  down_bias?: TensorRef;
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
