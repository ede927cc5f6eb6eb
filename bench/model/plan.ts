import { expertName, moeTensorNames, routerName, SHARED_EXPERT_NAMES } from './moe-names.js';
import fs from 'node:fs';
import { ModelError } from '../errors.js';
import { insideModel } from './boundary.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { parseModelConfig, type LayerBiases } from './config.js';
import { openGgufModel } from './gguf/model.js';
import { isJsonObject, readJsonObject, show } from './json.js';
import { resolveModelSource, type ModelSource } from './resolve.js';
import { PROVENANCE_KEY } from '../synth/shapes.js';
import { layerTensorRefs, type ExpertTensors, type LayerTensors, type LoadPlan, type ModelSpec, type TensorRef } from './types.js';

/** A tensor shape the config implies, and the config fields it follows from. */
interface Expected {
  shape: number[];
  because: string;
}

/** What the plan builder needs from either format: the spec, the bias layout and the tensors. */
interface OpenedModel {
  spec: ModelSpec;
  biases: LayerBiases;
  checkpoint: Checkpoint;
  /** Tensors the forward pass reads that no role names (GGUF rope_freqs). */
  consumed: string[];
  provenance: Record<string, unknown> | undefined;
}

function openSafetensorsModel(modelDir: string): OpenedModel {
  const configFile = insideModel(modelDir, 'config.json', 'the model config');
  if (!fs.existsSync(configFile)) throw new ModelError(`${modelDir}: no config.json (and no GGUF file)`);
  const generationFile = insideModel(modelDir, 'generation_config.json', 'the generation config');
  const generation = fs.existsSync(generationFile) ? readJsonObject(generationFile) : undefined;
  const config = readJsonObject(configFile);
  const { spec, biases } = parseModelConfig(config, generation, configFile);
  const provenance = isJsonObject(config[PROVENANCE_KEY]) ? config[PROVENANCE_KEY] : undefined;
  return { spec, biases, checkpoint: openCheckpoint(modelDir), consumed: [], provenance };
}

function openModel(source: ModelSource): OpenedModel {
  return source.format === 'gguf' ? openGgufModel(source) : openSafetensorsModel(source.dir);
}

/**
 * Reads a model's headers (config.json and safetensors, or GGUF metadata and tensor infos) and
 * checks its tensors against the shapes its configuration implies.
 */
export function buildLoadPlan(idOrPath: string, env: NodeJS.ProcessEnv = process.env): LoadPlan {
  const source = resolveModelSource(idOrPath, env);
  const modelDir = source.dir;
  const { spec, biases, checkpoint, consumed, provenance } = openModel(source);
  const picker = new TensorPicker(source.format === 'gguf' ? source.file : modelDir, checkpoint, consumed);
  const shapes = expectedShapes(spec);
  const embed = picker.require('model.embed_tokens.weight', shapes.embed);
  const finalNorm = picker.require('model.norm.weight', shapes.hiddenVec);
  const layers = Array.from({ length: spec.numLayers }, (_, i) => layerTensors(picker, i, spec, biases, shapes));
  // Like transformers, tying wins over a stored lm_head.weight, which then goes unused.
  const lmHead = spec.tieWordEmbeddings ? embed : picker.optional('lm_head.weight', shapes.embed);
  if (!lmHead) {
    throw new ModelError(
      `${modelDir}: lm_head.weight is missing and tie_word_embeddings is false: the logits would be all zero`,
    );
  }
  const used = [embed, finalNorm, lmHead, ...layers.flatMap((layer) => layerTensorRefs(layer))];
  return {
    modelDir,
    source,
    provenance,
    spec,
    embed,
    finalNorm,
    lmHead,
    lmHeadTied: spec.tieWordEmbeddings,
    layers,
    files: [...new Set(used.map((t) => t.file))].sort(),
    unusedTensors: picker.unused(),
    warnings: unusedTensorWarnings(picker.unused(), spec),
  };
}

/** Tensors a checkpoint may hold that no forward pass reads: rotary caches, a head that tying replaces. */
function knownUnused(name: string, spec: ModelSpec): boolean {
  return name.endsWith('.rotary_emb.inv_freq') || (spec.tieWordEmbeddings && name === 'lm_head.weight');
}

/** transformers warns of weights it did not use; a layer the config leaves out gets its own words. */
function unusedTensorWarnings(unused: string[], spec: ModelSpec): string[] {
  const warnings: string[] = [];
  const beyond = new Set<number>();
  const others: string[] = [];
  for (const name of unused) {
    if (knownUnused(name, spec)) continue;
    const layer = /^model\.layers\.(\d+)\./.exec(name);
    if (layer && Number(layer[1]) >= spec.numLayers) beyond.add(Number(layer[1]));
    else others.push(name);
  }
  if (beyond.size > 0) {
    const layers = [...beyond].sort((a, b) => a - b);
    warnings.push(
      `the checkpoint holds decoder layers up to ${layers[layers.length - 1]} but the config has ` +
        `num_hidden_layers=${spec.numLayers}: ${layers.length} layer(s) will not run`,
    );
  }
  if (others.length > 0) {
    const shown = others.slice(0, 5).join(', ');
    const more = others.length > 5 ? ` and ${others.length - 5} more` : '';
    warnings.push(`${others.length} checkpoint tensor(s) are not used by the forward pass: ${shown}${more}`);
  }
  return warnings;
}

function expectedShapes(spec: ModelSpec) {
  const { hiddenSize: h, numHeads, numKvHeads, headDim, intermediateSize: inter, vocabSize } = spec;
  const H = `hidden_size=${h}`;
  const NH = `num_attention_heads=${numHeads}`;
  const KV = `num_key_value_heads=${numKvHeads}`;
  const HD = `head_dim=${headDim}`;
  const I = `intermediate_size=${inter}`;
  const e = (shape: number[], ...because: string[]): Expected => ({ shape, because: because.join(', ') });
  return {
    embed: e([vocabSize, h], `vocab_size=${vocabSize}`, H),
    hiddenVec: e([h], H),
    headVec: e([headDim], HD),
    interVec: e([inter], I),
    qProj: e([numHeads * headDim, h], NH, HD, H),
    kvProj: e([numKvHeads * headDim, h], KV, HD, H),
    oProj: e([h, numHeads * headDim], H, NH, HD),
    qBias: e([numHeads * headDim], NH, HD),
    kvBias: e([numKvHeads * headDim], KV, HD),
    upProj: e([inter, h], I, H),
    downProj: e([h, inter], H, I),
    ...moeShapes(spec, e, H),
  };
}

function moeShapes(spec: ModelSpec, e: (shape: number[], ...because: string[]) => Expected, H: string) {
  const moe = spec.moe;
  if (!moe) return {};
  const h = spec.hiddenSize;
  const N = `num_experts=${moe.numExperts}`;
  const EI = `${spec.architecture === 'MixtralForCausalLM' ? 'intermediate_size' : 'moe_intermediate_size'}=${moe.expertIntermediateSize}`;
  const shared = moe.sharedExpertIntermediateSize ?? 0;
  const SI = `shared_expert_intermediate_size=${shared}`;
  return {
    router: e([moe.numExperts, h], N, H),
    expertUp: e([moe.expertIntermediateSize, h], EI, H),
    expertDown: e([h, moe.expertIntermediateSize], H, EI),
    sharedUp: e([shared, h], SI, H),
    sharedDown: e([h, shared], H, SI),
    sharedGate: e([1, h], H),
  };
}

type Shapes = ReturnType<typeof expectedShapes>;

function layerTensors(picker: TensorPicker, i: number, spec: ModelSpec, biases: LayerBiases, s: Shapes): LayerTensors {
  picker.requireLayer(i, spec.numLayers);
  const w = (suffix: string, expected: Expected, why?: string) => picker.require(`model.layers.${i}.${suffix}`, expected, why);
  const layer: LayerTensors = {
    input_layernorm: w('input_layernorm.weight', s.hiddenVec),
    q_proj: w('self_attn.q_proj.weight', s.qProj),
    k_proj: w('self_attn.k_proj.weight', s.kvProj),
    v_proj: w('self_attn.v_proj.weight', s.kvProj),
    o_proj: w('self_attn.o_proj.weight', s.oProj),
    post_attention_layernorm: w('post_attention_layernorm.weight', s.hiddenVec),
  };
  if (spec.moe?.sparseLayers.includes(i)) {
    Object.assign(layer, sparseMlp(picker, i, spec, s));
  } else {
    layer.gate_proj = w('mlp.gate_proj.weight', s.upProj);
    layer.up_proj = w('mlp.up_proj.weight', s.upProj);
    layer.down_proj = w('mlp.down_proj.weight', s.downProj);
  }
  if (biases.qkv) {
    const why = spec.architecture === 'Qwen2ForCausalLM' ? 'Qwen2 always has q/k/v biases' : 'attention_bias is true';
    layer.q_bias = w('self_attn.q_proj.bias', s.qBias, why);
    layer.k_bias = w('self_attn.k_proj.bias', s.kvBias, why);
    layer.v_bias = w('self_attn.v_proj.bias', s.kvBias, why);
  }
  if (biases.o) layer.o_bias = w('self_attn.o_proj.bias', s.hiddenVec, 'attention_bias is true');
  if (spec.qkNorm) {
    const why = 'Qwen3 normalises q and k per head';
    layer.q_norm = w('self_attn.q_norm.weight', s.headVec, why);
    layer.k_norm = w('self_attn.k_norm.weight', s.headVec, why);
  }
  if (biases.mlp) {
    const why = 'mlp_bias is true';
    layer.gate_bias = w('mlp.gate_proj.bias', s.interVec, why);
    layer.up_bias = w('mlp.up_proj.bias', s.interVec, why);
    layer.down_bias = w('mlp.down_proj.bias', s.hiddenVec, why);
  }
  return layer;
}

/** The Hub's names of a sparse layer's MoE tensors (per-expert, as Mixtral and the Qwen MoE models ship). */
function sparseMlp(picker: TensorPicker, i: number, spec: ModelSpec, s: Shapes): Partial<LayerTensors> {
  const moe = spec.moe!;
  const names = moeTensorNames(spec.architecture);
  const layer = `model.layers.${i}`;
  const prefix = `${layer}.${names.block}`;
  const why = `layer ${i} is a sparse layer of ${moe.numExperts} experts`;
  picker.refuseExpertsBeyond(`${prefix}.experts.`, moe.numExperts);
  const experts: ExpertTensors[] = Array.from({ length: moe.numExperts }, (_, x) => ({
    gate_proj: picker.require(`${layer}.${expertName(names, x, 'gate')}`, s.expertUp!, why),
    up_proj: picker.require(`${layer}.${expertName(names, x, 'up')}`, s.expertUp!, why),
    down_proj: picker.require(`${layer}.${expertName(names, x, 'down')}`, s.expertDown!, why),
  }));
  const sparse: Partial<LayerTensors> = { router: picker.require(`${layer}.${routerName(names)}`, s.router!, why), experts };
  if (moe.sharedExpertIntermediateSize !== null) {
    const sharedWhy = 'Qwen2-MoE layers have a shared expert';
    sparse.shared_gate_proj = picker.require(`${layer}.${SHARED_EXPERT_NAMES.gate_proj}`, s.sharedUp!, sharedWhy);
    sparse.shared_up_proj = picker.require(`${layer}.${SHARED_EXPERT_NAMES.up_proj}`, s.sharedUp!, sharedWhy);
    sparse.shared_down_proj = picker.require(`${layer}.${SHARED_EXPERT_NAMES.down_proj}`, s.sharedDown!, sharedWhy);
    sparse.shared_expert_gate = picker.require(`${layer}.${SHARED_EXPERT_NAMES.expert_gate}`, s.sharedGate!, sharedWhy);
  }
  return sparse;
}

/** Hands out checkpoint tensors after checking their shapes, and remembers which were used. */
class TensorPicker {
  private readonly used = new Set<string>();
  private readonly layerIndices = new Set<number>();

  constructor(
    private readonly modelDir: string,
    private readonly checkpoint: Checkpoint,
    consumed: string[],
  ) {
    for (const name of consumed) this.used.add(name);
    for (const name of checkpoint.tensors.keys()) {
      const match = /^model\.layers\.(\d+)\./.exec(name);
      if (match) this.layerIndices.add(Number(match[1]));
    }
  }

  optional(name: string, expected: Expected): TensorRef | undefined {
    const ref = this.checkpoint.tensors.get(name);
    if (!ref) return undefined;
    if (ref.shape.length !== expected.shape.length || ref.shape.some((d, i) => d !== expected.shape[i])) {
      throw new ModelError(
        `${this.modelDir}: config contradicts checkpoint: ${name} has shape ${show(ref.shape)}, ` +
          `config implies ${show(expected.shape)} (${expected.because})`,
      );
    }
    this.used.add(name);
    return ref;
  }

  require(name: string, expected: Expected, why?: string): TensorRef {
    const ref = this.optional(name, expected);
    if (ref) return ref;
    throw new ModelError(
      `${this.modelDir}: tensor ${name} is missing${why ? ` (required: ${why})` : ''}; searched ${this.checkpoint.searched}`,
    );
  }

  /** An expert the config does not count would silently never run: the config contradicts the checkpoint. */
  refuseExpertsBeyond(prefix: string, numExperts: number): void {
    let most = -1;
    for (const name of this.checkpoint.tensors.keys()) {
      if (!name.startsWith(prefix)) continue;
      const index = /^(\d+)\./.exec(name.slice(prefix.length));
      if (index) most = Math.max(most, Number(index[1]));
    }
    if (most >= numExperts) {
      throw new ModelError(
        `${this.modelDir}: config contradicts checkpoint: ${prefix}${most}.* exists but the config has ${numExperts} experts per layer`,
      );
    }
  }

  /** A whole missing layer gets one clear message instead of one about its first tensor. */
  requireLayer(i: number, numLayers: number): void {
    if (this.layerIndices.has(i)) return;
    throw new ModelError(
      `${this.modelDir}: layer ${i} is missing: config has num_hidden_layers=${numLayers} but the checkpoint ` +
        `has no model.layers.${i}.* tensors; searched ${this.checkpoint.searched}`,
    );
  }

  unused(): string[] {
    return [...this.checkpoint.tensors.keys()].filter((name) => !this.used.has(name)).sort();
  }
}
