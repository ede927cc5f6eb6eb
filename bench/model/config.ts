import { ModelError } from '../errors.js';
import { isJsonObject, show, type JsonObject } from './json.js';
import { ropeOf } from './rope.js';
import { SUPPORTED_ARCHITECTURES, type Architecture, type ModelDtype, type ModelSpec, type MoeSpec } from './types.js';

/** Which bias tensors the transformers modules of this architecture and config create. */
export interface LayerBiases {
  /** q_proj, k_proj and v_proj. */
  qkv: boolean;
  o: boolean;
  /** gate_proj, up_proj and down_proj. */
  mlp: boolean;
}

export interface ParsedConfig {
  spec: ModelSpec;
  biases: LayerBiases;
}

const MODEL_TYPES: Record<string, Architecture> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
  mixtral: 'MixtralForCausalLM',
  qwen2_moe: 'Qwen2MoeForCausalLM',
  qwen3_moe: 'Qwen3MoeForCausalLM',
};

/**
 * Defaults that differ between the transformers config classes and only apply when the key is
 * absent from config.json; the shape checks in plan.ts catch a config that relies on a wrong one.
 */
const ARCH_DEFAULTS: Record<Architecture, { numKvHeads?: number; headDim?: number }> = {
  LlamaForCausalLM: {},
  MistralForCausalLM: { numKvHeads: 8 },
  Qwen2ForCausalLM: { numKvHeads: 32 },
  Qwen3ForCausalLM: { numKvHeads: 32, headDim: 128 },
  MixtralForCausalLM: { numKvHeads: 8 },
  Qwen2MoeForCausalLM: { numKvHeads: 16 },
  Qwen3MoeForCausalLM: { numKvHeads: 4 },
};

/**
 * The MoE config classes' defaults (transformers' MixtralConfig, Qwen2MoeConfig, Qwen3MoeConfig),
 * used when a key is absent. Mixtral always renormalises and has no shared expert.
 */
const MOE_DEFAULTS: Partial<Record<Architecture, { experts: number; topK: number; expertIntermediate?: number; shared?: number }>> = {
  MixtralForCausalLM: { experts: 8, topK: 2 },
  Qwen2MoeForCausalLM: { experts: 60, topK: 4, expertIntermediate: 1408, shared: 5632 },
  Qwen3MoeForCausalLM: { experts: 128, topK: 8, expertIntermediate: 768 },
};

const MODEL_DTYPES: readonly string[] = ['float32', 'float16', 'bfloat16'] satisfies ModelDtype[];

/** Qwen2 and Qwen3 config classes default max_window_layers to 28. */
const QWEN_MAX_WINDOW_LAYERS = 28;

/** Mistral's config class default, used when config.json has no sliding_window key at all. */
const MISTRAL_SLIDING_WINDOW = 4096;

type Fail = (message: string) => never;

export function parseModelSpec(config: unknown, generationConfig: unknown | undefined, source: string): ModelSpec {
  return parseModelConfig(config, generationConfig, source).spec;
}

/** parseModelSpec plus the bias layout, which the plan builder needs and the engine does not. */
export function parseModelConfig(config: unknown, generationConfig: unknown | undefined, source: string): ParsedConfig {
  const fail: Fail = (message) => {
    throw new ModelError(`${source}: ${message}`);
  };
  if (!isJsonObject(config)) return fail(`expected a JSON object, found ${show(config)}`);
  if (generationConfig !== undefined && !isJsonObject(generationConfig)) {
    return fail(`generation config must be a JSON object, found ${show(generationConfig)}`);
  }
  const gen = generationConfig ?? {};
  const architecture = architectureOf(config, fail);
  const defaults = ARCH_DEFAULTS[architecture];

  const positiveInt = (key: string, value: unknown = config[key]): number => {
    if (value === undefined || value === null) return fail(`'${key}' is missing (a positive integer is required)`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      return fail(`'${key}' must be a positive integer, found ${show(value)}`);
    }
    return value;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const value = config[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') return fail(`'${key}' must be true or false, found ${show(value)}`);
    return value;
  };

  const hiddenSize = positiveInt('hidden_size');
  const numHeads = positiveInt('num_attention_heads');
  // transformers maps an explicit null to num_attention_heads but an absent key to the class default.
  const numKvHeads =
    config.num_key_value_heads === null
      ? numHeads
      : positiveInt('num_key_value_heads', config.num_key_value_heads ?? defaults.numKvHeads ?? numHeads);
  if (numHeads % numKvHeads !== 0) {
    fail(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  }
  let headDim: number;
  if (config.head_dim !== undefined && config.head_dim !== null) headDim = positiveInt('head_dim');
  else if (defaults.headDim !== undefined) headDim = defaults.headDim;
  else if (hiddenSize % numHeads !== 0) {
    return fail(`hidden_size (${hiddenSize}) is not a multiple of num_attention_heads (${numHeads}) and no head_dim is given`);
  } else headDim = hiddenSize / numHeads;

  const hiddenAct = config.hidden_act ?? 'silu';
  if (hiddenAct !== 'silu') fail(`hidden_act ${show(hiddenAct)} is not supported (only "silu")`);

  const rmsEps = config.rms_norm_eps ?? 1e-6;
  if (typeof rmsEps !== 'number' || !Number.isFinite(rmsEps) || rmsEps <= 0) {
    fail(`'rms_norm_eps' must be a positive number, found ${show(rmsEps)}`);
  }
  const attentionBias = flag('attention_bias', false);
  const mlpBias = flag('mlp_bias', false);
  const { theta: ropeTheta, rope } = ropeOf(config, fail);
  const numLayers = positiveInt('num_hidden_layers');

  const spec: ModelSpec = {
    architecture,
    modelType: typeof config.model_type === 'string' ? config.model_type : modelTypeOf(architecture),
    hiddenSize,
    intermediateSize: positiveInt('intermediate_size'),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: positiveInt('vocab_size'),
    maxPositions: positiveInt('max_position_embeddings'),
    rmsEps,
    ropeTheta,
    rope,
    tieWordEmbeddings: flag('tie_word_embeddings', false),
    qkNorm: architecture === 'Qwen3ForCausalLM' || architecture === 'Qwen3MoeForCausalLM',
    slidingWindow: slidingWindowOf(config, architecture, numLayers, fail),
    qkRowsInterleaved: false,
    moe: moeOf(config, architecture, numLayers, positiveInt, flag, fail),
    dtype: dtypeOf(config, fail),
    bosTokenId: bosTokenIdOf(gen, 'generation_config.json', fail) ?? bosTokenIdOf(config, 'config.json', fail) ?? null,
    eosTokenIds: [...new Set([...eosTokenIdsOf(gen, 'generation_config.json', fail), ...eosTokenIdsOf(config, 'config.json', fail)])],
  };
  return { spec, biases: biasesOf(architecture, attentionBias, mlpBias, flag('qkv_bias', true)) };
}

function architectureOf(config: JsonObject, fail: Fail): Architecture {
  const archs = config.architectures;
  if (Array.isArray(archs) && archs.length > 0) {
    const arch: unknown = archs[0];
    if (typeof arch === 'string' && (SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
      return arch as Architecture;
    }
    return fail(`architecture ${show(arch)} is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`);
  }
  if (archs !== undefined && archs !== null && !Array.isArray(archs)) {
    return fail(`'architectures' must be a list of class names, found ${show(archs)}`);
  }
  const modelType = config.model_type;
  if (typeof modelType === 'string' && Object.hasOwn(MODEL_TYPES, modelType)) return MODEL_TYPES[modelType];
  return fail(
    `no 'architectures' and model_type ${show(modelType)} is not one of ${Object.keys(MODEL_TYPES).join(', ')}` +
      ` (supported architectures: ${SUPPORTED_ARCHITECTURES.join(', ')})`,
  );
}

function moeOf(
  config: JsonObject,
  architecture: Architecture,
  numLayers: number,
  positiveInt: (key: string, value?: unknown) => number,
  flag: (key: string, fallback: boolean) => boolean,
  fail: Fail,
): MoeSpec | null {
  const defaults = MOE_DEFAULTS[architecture];
  if (!defaults) return null;
  const mixtral = architecture === 'MixtralForCausalLM';
  const count = (key: string, fallback: number): number => {
    const value = config[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      return fail(`'${key}' must be a non-negative integer, found ${show(value)}`);
    }
    return value;
  };
  const expertsKey = mixtral ? 'num_local_experts' : 'num_experts';
  const numExperts = count(expertsKey, defaults.experts);
  const step = positiveInt('decoder_sparse_step', config.decoder_sparse_step ?? 1);
  const mlpOnly = config.mlp_only_layers ?? [];
  if (!Array.isArray(mlpOnly) || mlpOnly.some((i) => typeof i !== 'number' || !Number.isSafeInteger(i))) {
    return fail(`'mlp_only_layers' must be a list of layer indices, found ${show(mlpOnly)}`);
  }
  // As the decoder layers of transformers choose their MLP.
  const sparseLayers = Array.from({ length: numLayers }, (_, i) => i).filter(
    (i) => mixtral || (numExperts > 0 && !mlpOnly.includes(i) && (i + 1) % step === 0),
  );
  if (numExperts === 0 || sparseLayers.length === 0) return null;
  const topK = positiveInt('num_experts_per_tok', config.num_experts_per_tok ?? defaults.topK);
  if (topK > numExperts) fail(`num_experts_per_tok (${topK}) is more than ${expertsKey} (${numExperts})`);
  const expertIntermediateSize = mixtral
    ? positiveInt('intermediate_size')
    : positiveInt('moe_intermediate_size', config.moe_intermediate_size ?? defaults.expertIntermediate);
  const sharedExpertIntermediateSize =
    defaults.shared === undefined ? null : positiveInt('shared_expert_intermediate_size', config.shared_expert_intermediate_size ?? defaults.shared);
  return {
    numExperts,
    topK,
    expertIntermediateSize,
    sharedExpertIntermediateSize,
    normTopkProb: mixtral || flag('norm_topk_prob', false),
    sparseLayers,
  };
}

function modelTypeOf(architecture: Architecture): string {
  return Object.keys(MODEL_TYPES).find((key) => MODEL_TYPES[key] === architecture)!;
}

function dtypeOf(config: JsonObject, fail: Fail): ModelDtype {
  // transformers 5 writes `dtype` and reads a legacy `torch_dtype` only when `dtype` is unset.
  const key = config.dtype !== undefined && config.dtype !== null ? 'dtype' : 'torch_dtype';
  const value = config[key];
  if (value === undefined || value === null) return 'float32';
  if (typeof value === 'string' && MODEL_DTYPES.includes(value)) return value as ModelDtype;
  return fail(`${key} ${show(value)} is not supported (supported: ${MODEL_DTYPES.join(', ')})`);
}

function slidingWindowOf(config: JsonObject, architecture: Architecture, numLayers: number, fail: Fail): number | null {
  if (architecture === 'LlamaForCausalLM') return null;
  if (architecture === 'MistralForCausalLM' || architecture === 'MixtralForCausalLM') {
    // Mixtral's config class defaults sliding_window to None, Mistral's to 4096.
    const fallback = architecture === 'MistralForCausalLM' ? MISTRAL_SLIDING_WINDOW : null;
    const window = config.sliding_window === undefined ? fallback : config.sliding_window;
    if (window === null) return null;
    if (typeof window !== 'number' || !Number.isSafeInteger(window) || window <= 0) {
      return fail(`'sliding_window' must be a positive integer or null, found ${show(window)}`);
    }
    return window;
  }
  // Qwen2/Qwen3 set sliding_window only on layers whose layer_types entry says so; transformers
  // derives that list from use_sliding_window and max_window_layers when it is absent.
  const unsupported = (why: string): never =>
    fail(`sliding-window attention for ${architecture} is not supported (${why})`);
  // The MoE Qwens slide on a different set of layers than Qwen2/Qwen3 (every other one, or all).
  if ((architecture === 'Qwen2MoeForCausalLM' || architecture === 'Qwen3MoeForCausalLM') && config.use_sliding_window === true) {
    return unsupported('use_sliding_window is true');
  }
  const layerTypes = config.layer_types;
  if (layerTypes !== undefined && layerTypes !== null) {
    if (!Array.isArray(layerTypes)) return fail(`'layer_types' must be a list, found ${show(layerTypes)}`);
    const other = layerTypes.find((t) => t !== 'full_attention');
    if (other !== undefined) return unsupported(`layer_types contains ${show(other)}`);
    return null;
  }
  if (config.use_sliding_window === true && config.sliding_window !== null) {
    const maxWindowLayers = config.max_window_layers ?? QWEN_MAX_WINDOW_LAYERS;
    if (typeof maxWindowLayers !== 'number' || maxWindowLayers < numLayers) {
      return unsupported(`use_sliding_window is true and max_window_layers=${show(maxWindowLayers)} < num_hidden_layers=${numLayers}`);
    }
  }
  return null;
}

function bosTokenIdOf(obj: JsonObject, where: string, fail: Fail): number | undefined {
  const value = obj.bos_token_id;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    return fail(`${where} 'bos_token_id' must be a token id (a non-negative integer), found ${show(value)}`);
  }
  return value;
}

function eosTokenIdsOf(obj: JsonObject, where: string, fail: Fail): number[] {
  const value = obj.eos_token_id;
  if (value === undefined || value === null) return [];
  const ids = Array.isArray(value) ? value : [value];
  for (const id of ids) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      return fail(`${where} 'eos_token_id' must be a token id or a list of them, found ${show(value)}`);
    }
  }
  return ids as number[];
}

/** Mirrors the nn.Linear(bias=...) arguments of each architecture's attention and MLP modules. */
function biasesOf(architecture: Architecture, attentionBias: boolean, mlpBias: boolean, qkvBias: boolean): LayerBiases {
  switch (architecture) {
    case 'LlamaForCausalLM':
      return { qkv: attentionBias, o: attentionBias, mlp: mlpBias };
    case 'MistralForCausalLM':
      return { qkv: false, o: false, mlp: false };
    case 'Qwen2ForCausalLM':
      return { qkv: true, o: false, mlp: false };
    case 'Qwen3ForCausalLM':
    case 'Qwen3MoeForCausalLM':
      return { qkv: attentionBias, o: attentionBias, mlp: false };
    case 'MixtralForCausalLM':
      return { qkv: false, o: false, mlp: false };
    case 'Qwen2MoeForCausalLM':
      return { qkv: qkvBias, o: false, mlp: false };
  }
}
