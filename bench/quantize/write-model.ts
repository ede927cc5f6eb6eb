// A model (its spec and its tensors as f32 rows) written as a GGUF file of a given type mix, with
// the metadata and tensor layout llama.cpp's converter gives the same architecture: its names,
// its hyperparameter keys, and the llama architecture's interleaved Q/K rows.
import { parseExpertName } from '../model/moe-names.js';
import { loadAddon } from '../engine/native.js';
import { ModelError } from '../errors.js';
import { storageBytes, type TensorDtype } from '../model/dtype.js';
import { FILE_TYPES } from '../model/gguf/format.js';
import { GGUF_PROVENANCE_KEY, ggufTensorName } from '../model/gguf/model.js';
import { meta, writeGguf, type GgufTensorWrite, type MetaEntry } from '../model/gguf/writer.js';
import type { Architecture, ModelSpec } from '../model/types.js';
import { tensorType, type MatrixRole, type QuantMix } from './mix.js';
import { interleaveRows } from './qk-order.js';

/** A tensor as f32 values, produced a few rows at a time (so big shapes fit in memory). */
export interface ValueSource {
  /** transformers name: model.layers.0.self_attn.q_proj.weight, ... */
  hfName: string;
  /** Row-major shape. */
  shape: number[];
  /** Calls `emit` with consecutive whole rows, `rows` (or fewer, at the end) at a time. */
  produce(rows: number, emit: (values: Float32Array) => void): void;
}

export interface ModelToWrite {
  spec: ModelSpec;
  name: string;
  mix: QuantMix;
  tensors: ValueSource[];
  tokenizer: MetaEntry[];
  provenance?: Record<string, unknown>;
}

export interface WrittenTensor {
  name: string;
  dtype: TensorDtype;
  bytes: number;
  note?: string;
}

const GGUF_ARCH: Readonly<Record<Architecture, string>> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
  MixtralForCausalLM: 'llama',
  Qwen2MoeForCausalLM: 'qwen2moe',
  Qwen3MoeForCausalLM: 'qwen3moe',
};

/** The GGUF tensor a transformers tensor is written into (an expert's: its layer's stack of that kind). */
export function writtenName(hfName: string): string {
  const expert = parseExpertName(hfName);
  return expert ? `blk.${expert.layer}.ffn_${expert.kind}_exps.weight` : ggufTensorName(hfName);
}

/** One GGUF tensor and the transformers tensors it is made of (an expert stack has one per expert). */
interface Stacked {
  name: string;
  shape: number[];
  parts: ValueSource[];
}

/**
 * The tensors as llama.cpp lays them out: each kind of routed expert matrix of a layer stacked
 * over the experts into one [experts, rows, cols] tensor (blk.N.ffn_gate_exps, ...), and the
 * shared expert's 1-row gate as a vector; every other tensor as it is.
 */
function stackExperts(sources: ValueSource[]): Stacked[] {
  const out: Stacked[] = [];
  const stacks = new Map<string, Stacked>();
  for (const source of sources) {
    const expert = parseExpertName(source.hfName);
    const name = writtenName(source.hfName);
    if (!expert) {
      const vector = name.endsWith('.ffn_gate_inp_shexp.weight');
      out.push({ name, shape: vector ? [source.shape[source.shape.length - 1]] : source.shape, parts: [source] });
      continue;
    }
    let stack = stacks.get(name);
    if (!stack) {
      stack = { name, shape: [0, ...source.shape], parts: [] };
      stacks.set(name, stack);
      out.push(stack);
    }
    if (expert.expert !== stack.parts.length) throw new Error(`${source.hfName}: experts must come in order`);
    stack.parts.push(source);
    stack.shape[0] = stack.parts.length;
  }
  return out;
}

/** f32 values handed to the quantizer per call: 16 MiB. */
const CHUNK_VALUES = 1 << 22;

export function writeGgufModel(file: string, model: ModelToWrite): { bytes: number; tensors: WrittenTensor[] } {
  const addon = loadAddon();
  const { spec } = model;
  const arch = GGUF_ARCH[spec.architecture];
  const written: WrittenTensor[] = [];
  const tensors: GgufTensorWrite[] = stackExperts(model.tensors).map((stacked) => {
    const { name, shape } = stacked;
    const cols = shape[shape.length - 1];
    const { dtype, note } = plannedType(model.mix, name, shape, spec);
    const bytes = storageBytes(dtype, shape.reduce((a, b) => a * b, 1))!;
    const interleave = arch === 'llama' ? interleavedHeads(name, spec) : undefined;
    // A vector is one row here; a matrix's rows are `cols` values.
    const vector = shape.length === 1;
    const rows = vector ? 1 : shape.slice(0, -1).reduce((a, b) => a * b, 1);
    // Whole heads per chunk when rows are interleaved, so each chunk is permuted on its own.
    const unit = interleave ? spec.headDim : 1;
    const chunkRows = Math.max(unit, Math.floor(CHUNK_VALUES / cols / unit) * unit);
    written.push({ name, dtype, bytes, note });
    return {
      name,
      shape,
      dtype,
      produce(write) {
        let seen = 0;
        for (const source of stacked.parts) {
          source.produce(vector ? cols : chunkRows, (values) => {
            const vals = interleave ? interleaveRows(values, spec.headDim, vector ? 1 : cols) : values;
            let block: Uint8Array;
            try {
              block = addon.quantize(dtype, vals, vector ? vals.length : cols);
            } catch (err) {
              throw new ModelError(`${source.hfName}: ${(err as Error).message}`);
            }
            write(block);
            seen += vector ? 1 : values.length / cols;
          });
        }
        if (seen !== rows) throw new Error(`${name}: ${seen} rows produced, ${rows} expected`);
      },
    };
  });
  const bytes = writeGguf(file, [...modelMetadata(model, arch), ...model.tokenizer], [...tensors, ...ropeFreqs(spec)]);
  return { bytes, tensors: written };
}

/** The type a tensor (by GGUF name) gets in a mix, and why when it is not the mix's choice. */
export function plannedType(mix: QuantMix, ggufName: string, shape: number[], spec: ModelSpec): { dtype: TensorDtype; note?: string } {
  return tensorType(mix, slotOf(ggufName, shape, spec));
}

function slotOf(name: string, shape: number[], spec: ModelSpec) {
  const m = /^blk\.(\d+)\.(\w+)\./.exec(name);
  const part = m?.[2];
  const tiedOutput = name === 'token_embd.weight' && spec.tieWordEmbeddings;
  const role: MatrixRole =
    name === 'output.weight' || tiedOutput
      ? 'output'
      : name === 'token_embd.weight'
        ? 'token_embd'
        : part === 'attn_v' || part === 'attn_output' || part === 'ffn_down'
          ? part
          : 'other';
  return { role, layer: m ? Number(m[1]) : undefined, numLayers: spec.numLayers, cols: shape[shape.length - 1], vector: shape.length === 1 };
}

/** Heads of a Q or K tensor (weights and biases), whose rows llama.cpp's converter interleaves. */
function interleavedHeads(name: string, spec: ModelSpec): number | undefined {
  if (/\.attn_q\.(weight|bias)$/.test(name)) return spec.numHeads;
  if (/\.attn_k\.(weight|bias)$/.test(name)) return spec.numKvHeads;
  return undefined;
}


function modelMetadata(model: ModelToWrite, arch: string): MetaEntry[] {
  const s = model.spec;
  const k = (key: string) => `${arch}.${key}`;
  const entries: MetaEntry[] = [
    meta.str('general.architecture', arch),
    meta.str('general.type', 'model'),
    meta.str('general.name', model.name),
    meta.u32('general.file_type', FILE_TYPES[model.mix]),
    meta.u32('general.quantization_version', 2),
    meta.u32(k('block_count'), s.numLayers),
    meta.u32(k('context_length'), s.maxPositions),
    meta.u32(k('embedding_length'), s.hiddenSize),
    meta.u32(k('feed_forward_length'), s.intermediateSize),
    meta.u32(k('attention.head_count'), s.numHeads),
    meta.u32(k('attention.head_count_kv'), s.numKvHeads),
    meta.u32(k('attention.key_length'), s.headDim),
    meta.u32(k('attention.value_length'), s.headDim),
    meta.u32(k('rope.dimension_count'), s.headDim),
    meta.f32(k('rope.freq_base'), s.ropeTheta),
    meta.f32(k('attention.layer_norm_rms_epsilon'), s.rmsEps),
    meta.u32(k('vocab_size'), s.vocabSize),
  ];
  if (s.rope.type === 'linear') entries.push(meta.str(k('rope.scaling.type'), 'linear'), meta.f32(k('rope.scaling.factor'), s.rope.factor));
  if (s.moe) {
    // llama.cpp reads Mixtral's expert width from feed_forward_length, the Qwens' from expert_feed_forward_length.
    entries.push(meta.u32(k('expert_count'), s.moe.numExperts), meta.u32(k('expert_used_count'), s.moe.topK),
      meta.u32(k('expert_feed_forward_length'), s.moe.expertIntermediateSize), meta.bool(k('expert_weights_norm'), s.moe.normTopkProb));
    if (s.moe.sharedExpertIntermediateSize !== null) entries.push(meta.u32(k('expert_shared_feed_forward_length'), s.moe.sharedExpertIntermediateSize));
  }
  if (model.provenance) entries.push(meta.str(GGUF_PROVENANCE_KEY, JSON.stringify(model.provenance)));
  return entries;
}

/**
 * Llama 3 RoPE scaling as llama.cpp stores it: rope_freqs.weight, the divisor of each frequency
 * (1 for short wavelengths, `factor` for long ones, smoothly in between).
 */
function ropeFreqs(spec: ModelSpec): GgufTensorWrite[] {
  const r = spec.rope;
  if (r.type !== 'llama3' && r.type !== 'factors') return [];
  let factors: Float32Array;
  if (r.type === 'factors') factors = new Float32Array(r.factors);
  else {
    const half = spec.headDim / 2;
    factors = new Float32Array(half);
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / Math.pow(spec.ropeTheta, (2 * i) / spec.headDim);
      const lowWavelen = r.originalMaxPositions / r.lowFreqFactor;
      const highWavelen = r.originalMaxPositions / r.highFreqFactor;
      if (wavelen < highWavelen) factors[i] = 1;
      else if (wavelen > lowWavelen) factors[i] = r.factor;
      else {
        const smooth = (r.originalMaxPositions / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
        factors[i] = 1 / ((1 - smooth) / r.factor + smooth);
      }
    }
  }
  return [{ name: 'rope_freqs.weight', shape: [factors.length], dtype: 'F32', produce: (write) => write(new Uint8Array(factors.buffer)) }];
}
