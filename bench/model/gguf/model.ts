// A GGUF model as the rest of rabbit-bench sees a Hugging Face one: the normalised ModelSpec and
// its tensors under their transformers names, so one plan builder checks both formats.
import { expertName, MIXTRAL_MOE_NAMES, moeTensorNames, QWEN_MOE_NAMES, routerName, SHARED_EXPERT_NAMES, type ExpertKind, type MoeTensorNames } from '../moe-names.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Checkpoint } from '../checkpoint.js';
import type { LayerBiases } from '../config.js';
import { TENSOR_DTYPES } from '../dtype.js';
import type { Architecture, ModelSpec, MoeSpec, RopeSpec, TensorRef } from '../types.js';
import type { GgufFiles } from './files.js';
import { FILE_TYPES } from './format.js';
import { GgufMetadata } from './metadata.js';
import { readGgufHeader, type GgufHeader, type GgufTensorInfo } from './reader.js';

/** general.architecture values the engine runs, and the transformers class each one is. */
export const GGUF_ARCHITECTURES: Readonly<Record<string, Architecture>> = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
  qwen2moe: 'Qwen2MoeForCausalLM',
  qwen3moe: 'Qwen3MoeForCausalLM',
};

/** llama.cpp converts Mixtral as `llama` with experts (`llama.expert_count`). */
const LLAMA_WITH_EXPERTS: Architecture = 'MixtralForCausalLM';

/**
 * A sparse layer's tensors in llama.cpp's layout: the router, each kind of expert matrix stacked
 * over the experts in one 3-D tensor, and Qwen2-MoE's shared expert; by the part after `blk.N.`.
 */
const MOE_NAMES: Readonly<Record<string, (names: MoeTensorNames) => string>> = {
  'ffn_gate_inp.weight': routerName,
  'ffn_gate_shexp.weight': () => SHARED_EXPERT_NAMES.gate_proj,
  'ffn_up_shexp.weight': () => SHARED_EXPERT_NAMES.up_proj,
  'ffn_down_shexp.weight': () => SHARED_EXPERT_NAMES.down_proj,
  'ffn_gate_inp_shexp.weight': () => SHARED_EXPERT_NAMES.expert_gate,
};
const EXPERT_STACKS: Readonly<Record<string, ExpertKind>> = {
  'ffn_gate_exps.weight': 'gate',
  'ffn_up_exps.weight': 'up',
  'ffn_down_exps.weight': 'down',
};

/** Metadata key under which rabbit-bench records how it wrote a synthetic file (JSON). */
export const GGUF_PROVENANCE_KEY = 'rabbit_bench.provenance';

export interface GgufModel {
  headers: GgufHeader[];
  metadata: GgufMetadata;
  spec: ModelSpec;
  biases: LayerBiases;
  /** Tensors under their transformers names (others under their GGUF names). */
  checkpoint: Checkpoint;
  /** GGUF names of the tensors the forward pass reads besides the checkpoint's (rope_freqs). */
  consumed: string[];
  provenance: Record<string, unknown> | undefined;
}

const GLOBAL_NAMES: Readonly<Record<string, string>> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
};

const LAYER_NAMES: Readonly<Record<string, string>> = {
  'attn_norm.weight': 'input_layernorm.weight',
  'attn_q.weight': 'self_attn.q_proj.weight',
  'attn_q.bias': 'self_attn.q_proj.bias',
  'attn_k.weight': 'self_attn.k_proj.weight',
  'attn_k.bias': 'self_attn.k_proj.bias',
  'attn_v.weight': 'self_attn.v_proj.weight',
  'attn_v.bias': 'self_attn.v_proj.bias',
  'attn_output.weight': 'self_attn.o_proj.weight',
  'attn_output.bias': 'self_attn.o_proj.bias',
  'attn_q_norm.weight': 'self_attn.q_norm.weight',
  'attn_k_norm.weight': 'self_attn.k_norm.weight',
  'ffn_norm.weight': 'post_attention_layernorm.weight',
  'ffn_gate.weight': 'mlp.gate_proj.weight',
  'ffn_gate.bias': 'mlp.gate_proj.bias',
  'ffn_up.weight': 'mlp.up_proj.weight',
  'ffn_up.bias': 'mlp.up_proj.bias',
  'ffn_down.weight': 'mlp.down_proj.weight',
  'ffn_down.bias': 'mlp.down_proj.bias',
};

/** The transformers name of a GGUF tensor, or undefined for one without a counterpart. */
export function hfTensorName(ggufName: string): string | undefined {
  if (Object.hasOwn(GLOBAL_NAMES, ggufName)) return GLOBAL_NAMES[ggufName];
  const m = /^blk\.(\d+)\.(.+)$/.exec(ggufName);
  if (m && Object.hasOwn(LAYER_NAMES, m[2])) return `model.layers.${m[1]}.${LAYER_NAMES[m[2]]}`;
  return undefined;
}

/** The GGUF name of a transformers tensor name (the inverse of hfTensorName, MoE routers and shared experts included). */
export function ggufTensorName(hfName: string): string {
  for (const [g, h] of Object.entries(GLOBAL_NAMES)) if (h === hfName) return g;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (m) for (const [g, h] of Object.entries(LAYER_NAMES)) if (h === m[2]) return `blk.${m[1]}.${g}`;
  if (m) {
    for (const names of [MIXTRAL_MOE_NAMES, QWEN_MOE_NAMES]) {
      for (const [g, h] of Object.entries(MOE_NAMES)) if (h(names) === m[2]) return `blk.${m[1]}.${g}`;
    }
  }
  throw new Error(`no GGUF name for ${hfName}`);
}

export function openGgufModel(files: GgufFiles): GgufModel {
  const headers = readParts(files);
  const meta = new GgufMetadata(headers[0]);
  const infos = new Map<string, { header: GgufHeader; info: GgufTensorInfo }>();
  for (const header of headers) {
    for (const info of header.tensors) {
      if (infos.has(info.name)) meta.fail(`tensor '${info.name}' is in more than one part of the split model`);
      infos.set(info.name, { header, info });
    }
  }

  const archName = meta.string('general.architecture');
  if (!Object.hasOwn(GGUF_ARCHITECTURES, archName)) {
    meta.fail(`architecture '${archName}' is not supported (supported: ${Object.keys(GGUF_ARCHITECTURES).join(', ')})`);
  }
  const key = (k: string) => `${archName}.${k}`;
  const expertCount = meta.integer(key('expert_count'), true) ?? 0;
  const architecture = archName === 'llama' && expertCount > 0 ? LLAMA_WITH_EXPERTS : GGUF_ARCHITECTURES[archName];
  const positive = (k: string): number => {
    const v = meta.integer(key(k));
    if (v <= 0) meta.fail(`metadata '${key(k)}' must be positive`);
    return v;
  };

  const tensors = new Map<string, TensorRef>();
  const names = moeTensorNames(architecture);
  for (const [name, { header, info }] of infos) {
    const layer = /^blk\.(\d+)\.(.+)$/.exec(name);
    const moePart = layer && expertCount > 0 ? layer[2] : undefined;
    const hfName = moePart && Object.hasOwn(MOE_NAMES, moePart) ? `model.layers.${layer![1]}.${MOE_NAMES[moePart](names)}` : hfTensorName(name);
    const stack = moePart && Object.hasOwn(EXPERT_STACKS, moePart) ? EXPERT_STACKS[moePart] : undefined;
    const dtype = info.ggmlType.dtype;
    if ((hfName || stack) && !dtype) {
      meta.fail(`tensor '${name}' is ${info.ggmlType.name}, a type the engine does not run (supported: ${TENSOR_DTYPES.join(', ')})`);
    }
    const ref: TensorRef = { file: header.file, offset: info.offset, bytes: info.bytes, dtype: dtype ?? 'F32', shape: [...info.dims].reverse() };
    if (stack) {
      for (const [e, expert] of expertSlices(ref, expertCount, name, meta).entries()) {
        tensors.set(`model.layers.${layer![1]}.${expertName(names, e, stack)}`, expert);
      }
    } else if (moePart === 'ffn_gate_inp_shexp.weight') {
      // llama.cpp stores the shared expert's gate as a vector; transformers' is a 1-row matrix.
      tensors.set(hfName!, { ...ref, shape: [1, ...ref.shape] });
    } else {
      tensors.set(hfName ?? name, ref);
    }
  }
  const embed = infos.get('token_embd.weight');
  if (!embed) meta.fail('tensor token_embd.weight is missing');

  const hiddenSize = positive('embedding_length');
  const numHeads = positive('attention.head_count');
  const numKvHeads = meta.has(key('attention.head_count_kv')) ? positive('attention.head_count_kv') : numHeads;
  if (numHeads % numKvHeads !== 0) meta.fail(`attention.head_count (${numHeads}) must be a multiple of attention.head_count_kv (${numKvHeads})`);
  const headDim = meta.has(key('attention.key_length'))
    ? positive('attention.key_length')
    : meta.has(key('rope.dimension_count'))
      ? positive('rope.dimension_count')
      : hiddenSize / numHeads;
  if (!Number.isInteger(headDim)) meta.fail(`embedding_length ${hiddenSize} is not a multiple of head_count ${numHeads} and no key_length is given`);
  const valueLength = meta.integer(key('attention.value_length'), true);
  if (valueLength !== undefined && valueLength !== headDim) meta.fail(`attention.value_length ${valueLength} differs from key_length ${headDim}`);
  const ropeDims = meta.integer(key('rope.dimension_count'), true);
  if (ropeDims !== undefined && ropeDims !== headDim) {
    meta.fail(`rope.dimension_count ${ropeDims} differs from the head size ${headDim}: partial rotary embeddings are not supported`);
  }
  const rmsEps = meta.number(key('attention.layer_norm_rms_epsilon'));
  if (!(rmsEps > 0)) meta.fail(`metadata '${key('attention.layer_norm_rms_epsilon')}' must be positive`);

  const eos = (['eos', 'eot', 'eom'] as const)
    .map((k) => meta.integer(`tokenizer.ggml.${k}_token_id`, true))
    .filter((id): id is number => id !== undefined);

  const numLayers = positive('block_count');
  const spec: ModelSpec = {
    architecture,
    modelType: archName,
    hiddenSize,
    intermediateSize: positive('feed_forward_length'),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: embed!.info.dims[1] ?? 0,
    maxPositions: positive('context_length'),
    rmsEps,
    ropeTheta: meta.has(key('rope.freq_base')) ? meta.number(key('rope.freq_base')) : 10_000,
    rope: ropeOf(meta, archName, infos),
    tieWordEmbeddings: !infos.has('output.weight'),
    qkNorm: architecture === 'Qwen3ForCausalLM' || architecture === 'Qwen3MoeForCausalLM',
    moe: expertCount > 0 ? moeOf(meta, archName, architecture, expertCount, numLayers, infos) : null,
    slidingWindow: null,
    // llama.cpp's converter permutes the Q/K rows of llama-architecture models only.
    qkRowsInterleaved: archName === 'llama',
    dtype: fileTypeOf(meta, [...infos.values()].map((t) => t.info)),
    bosTokenId: meta.integer('tokenizer.ggml.bos_token_id', true) ?? null,
    eosTokenIds: [...new Set(eos)],
  };
  if (!(spec.ropeTheta > 0)) meta.fail(`metadata '${key('rope.freq_base')}' must be positive`);
  const vocabMeta = meta.integer(key('vocab_size'), true);
  if (vocabMeta !== undefined && vocabMeta !== spec.vocabSize) {
    meta.fail(`${key('vocab_size')} is ${vocabMeta} but token_embd.weight has ${spec.vocabSize} rows`);
  }

  const layerHas = (suffix: string) => infos.has(`blk.0.${suffix}`);
  const biases: LayerBiases = {
    qkv: architecture === 'Qwen2ForCausalLM' || layerHas('attn_q.bias'),
    o: layerHas('attn_output.bias'),
    mlp: layerHas('ffn_gate.bias'),
  };
  const provenanceText = meta.string(GGUF_PROVENANCE_KEY, true);
  let provenance: Record<string, unknown> | undefined;
  if (provenanceText !== undefined) {
    try {
      provenance = JSON.parse(provenanceText) as Record<string, unknown>;
    } catch {
      meta.fail(`metadata '${GGUF_PROVENANCE_KEY}' is not JSON`);
    }
  }
  const searched = files.parts.map((p) => path.basename(p)).join(', ');
  return {
    headers,
    metadata: meta,
    spec,
    biases,
    checkpoint: { tensors, searched },
    consumed: spec.rope.type === 'factors' ? ['rope_freqs.weight'] : [],
    provenance,
  };
}

/** Expert e's matrix of a stacked [experts, rows, cols] tensor: its e-th slice of whole rows. */
function expertSlices(t: TensorRef, experts: number, name: string, meta: GgufMetadata): TensorRef[] {
  if (t.shape.length !== 3 || t.shape[0] !== experts) {
    meta.fail(`tensor '${name}' has shape [${t.shape.join(', ')}], expert_count ${experts} implies [${experts}, rows, cols]`);
  }
  const bytes = t.bytes / experts;
  if (!Number.isInteger(bytes)) meta.fail(`tensor '${name}': ${t.bytes} bytes do not split into ${experts} experts`);
  return Array.from({ length: experts }, (_, e) => ({ ...t, offset: t.offset + e * bytes, bytes, shape: t.shape.slice(1) }));
}

/**
 * Routing as llama.cpp runs each architecture: Mixtral (llama) and Qwen3-MoE renormalise the
 * top-k weights, Qwen2-MoE does not, unless the file says otherwise (expert_weights_norm). A
 * layer is sparse when it has a router.
 */
function moeOf(
  meta: GgufMetadata,
  arch: string,
  architecture: Architecture,
  numExperts: number,
  numLayers: number,
  infos: Map<string, unknown>,
): MoeSpec {
  const key = (k: string) => `${arch}.${k}`;
  const topK = meta.integer(key('expert_used_count'));
  if (!(topK >= 1 && topK <= numExperts)) meta.fail(`${key('expert_used_count')} ${topK} must be from 1 to expert_count ${numExperts}`);
  const width = (k: string): number => {
    const v = meta.integer(key(k));
    if (v <= 0) meta.fail(`metadata '${key(k)}' must be positive`);
    return v;
  };
  const expertIntermediateSize = architecture === LLAMA_WITH_EXPERTS ? width('feed_forward_length') : width('expert_feed_forward_length');
  const shared = architecture === 'Qwen2MoeForCausalLM' ? width('expert_shared_feed_forward_length') : null;
  const norm = meta.boolean(key('expert_weights_norm')) ?? architecture !== 'Qwen2MoeForCausalLM';
  const sparseLayers = Array.from({ length: numLayers }, (_, i) => i).filter((i) => infos.has(`blk.${i}.ffn_gate_inp.weight`));
  if (sparseLayers.length === 0) meta.fail(`${key('expert_count')} is ${numExperts} but no layer has a router (blk.N.ffn_gate_inp.weight)`);
  return { numExperts, topK, expertIntermediateSize, sharedExpertIntermediateSize: shared, normTopkProb: norm, sparseLayers };
}

function readParts(files: GgufFiles): GgufHeader[] {
  const headers = files.parts.map((p) => readGgufHeader(p));
  const first = new GgufMetadata(headers[0]);
  const count = first.integer('split.count', true);
  if (count === undefined && headers.length === 1) return headers;
  if (count !== headers.length) {
    first.fail(`split.count says ${count ?? 1} parts, but ${headers.length} files were found (${files.parts.map((p) => path.basename(p)).join(', ')})`);
  }
  headers.forEach((h, i) => {
    const no = new GgufMetadata(h).integer('split.no', true);
    if (no !== i) new GgufMetadata(h).fail(`split.no is ${no ?? 'missing'}, expected ${i} for part ${i + 1}`);
  });
  const total = first.integer('split.tensors.count', true);
  const found = headers.reduce((a, h) => a + h.tensors.length, 0);
  if (total !== undefined && total !== found) first.fail(`split.tensors.count says ${total} tensors, the parts hold ${found}`);
  return headers;
}

function ropeOf(meta: GgufMetadata, arch: string, infos: Map<string, { info: GgufTensorInfo; header: GgufHeader }>): RopeSpec {
  const type = meta.string(`${arch}.rope.scaling.type`, true) ?? 'none';
  let rope: RopeSpec;
  if (type === 'none') rope = { type: 'default' };
  else if (type === 'linear') {
    const factor = meta.number(`${arch}.rope.scaling.factor`);
    if (!(factor > 0)) meta.fail(`${arch}.rope.scaling.factor must be positive`);
    rope = { type: 'linear', factor };
  } else return meta.fail(`RoPE scaling '${type}' is not supported (supported: none, linear, and llama3 frequency factors)`);
  // Llama 3's RoPE scaling, as llama.cpp's converter stores it: one divisor per frequency.
  const freqs = infos.get('rope_freqs.weight');
  if (!freqs) return rope;
  if (rope.type !== 'default') meta.fail('rope_freqs.weight together with RoPE scaling is not supported');
  if (freqs.info.ggmlType.name !== 'F32' || freqs.info.dims.length !== 1) meta.fail('rope_freqs.weight must be a float32 vector');
  const raw = Buffer.alloc(freqs.info.bytes);
  const fd = fs.openSync(freqs.header.file, 'r');
  try {
    if (fs.readSync(fd, raw, 0, raw.length, freqs.info.offset) !== raw.length) meta.fail('rope_freqs.weight is truncated');
  } finally {
    fs.closeSync(fd);
  }
  const factors = Array.from({ length: freqs.info.dims[0] }, (_, i) => raw.readFloatLE(4 * i));
  if (factors.some((f) => !(f > 0) || !Number.isFinite(f))) meta.fail('rope_freqs.weight holds a factor that is not a positive number');
  return { type: 'factors', factors };
}

/** general.file_type's name (Q4_K_M, ...), or the most common weight type when the file has none we know. */
function fileTypeOf(meta: GgufMetadata, infos: GgufTensorInfo[]): string {
  const id = meta.integer('general.file_type', true);
  const named = Object.entries(FILE_TYPES).find(([, v]) => v === id)?.[0];
  if (named) return named;
  const counts = new Map<string, number>();
  for (const t of infos) if (t.dims.length === 2) counts.set(t.ggmlType.name, (counts.get(t.ggmlType.name) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
}
