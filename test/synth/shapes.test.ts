import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../bench/errors.js';
import { parseModelConfig } from '../../bench/model/config.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { checkpointLayout } from '../../bench/synth/layout.js';
import { safetensorsHeader } from '../../bench/synth/safetensors.js';
import {
  PROVENANCE_KEY,
  SHAPES,
  countParams,
  shapeConfig,
  shapeNames,
  synthConfig,
  withByteLevelTokenIds,
} from '../../bench/synth/shapes.js';
import { tempDir } from './helpers.js';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

// The shape numbers as checked against the published configs (see shapes.ts), written out again
// so that an accidental edit of the registry fails here.
interface Moe {
  experts: number;
  topK: number;
  expertInter: number;
  shared: number | null;
  norm: boolean;
}
const EXPECTED: Record<string, { arch: string; layers: number; hidden: number; heads: number; kv: number; headDim: number; inter: number; vocab: number; tied: boolean; moe?: Moe }> = {
  'smollm2-135m': { arch: 'LlamaForCausalLM', layers: 30, hidden: 576, heads: 9, kv: 3, headDim: 64, inter: 1536, vocab: 49152, tied: true },
  'qwen2.5-0.5b': { arch: 'Qwen2ForCausalLM', layers: 24, hidden: 896, heads: 14, kv: 2, headDim: 64, inter: 4864, vocab: 151936, tied: true },
  'qwen3-0.6b': { arch: 'Qwen3ForCausalLM', layers: 28, hidden: 1024, heads: 16, kv: 8, headDim: 128, inter: 3072, vocab: 151936, tied: true },
  'llama-3.2-1b': { arch: 'LlamaForCausalLM', layers: 16, hidden: 2048, heads: 32, kv: 8, headDim: 64, inter: 8192, vocab: 128256, tied: true },
  'mistral-7b': { arch: 'MistralForCausalLM', layers: 32, hidden: 4096, heads: 32, kv: 8, headDim: 128, inter: 14336, vocab: 32000, tied: false },
  'qwen2.5-7b': { arch: 'Qwen2ForCausalLM', layers: 28, hidden: 3584, heads: 28, kv: 4, headDim: 128, inter: 18944, vocab: 152064, tied: false },
  'llama-3.1-70b': { arch: 'LlamaForCausalLM', layers: 80, hidden: 8192, heads: 64, kv: 8, headDim: 128, inter: 28672, vocab: 128256, tied: false },
  'mixtral-8x7b': {
    arch: 'MixtralForCausalLM', layers: 32, hidden: 4096, heads: 32, kv: 8, headDim: 128, inter: 14336, vocab: 32000, tied: false,
    moe: { experts: 8, topK: 2, expertInter: 14336, shared: null, norm: true },
  },
  'qwen3-30b-a3b': {
    arch: 'Qwen3MoeForCausalLM', layers: 48, hidden: 2048, heads: 32, kv: 4, headDim: 128, inter: 6144, vocab: 151936, tied: false,
    moe: { experts: 128, topK: 8, expertInter: 768, shared: null, norm: true },
  },
  'qwen2-57b-a14b': {
    arch: 'Qwen2MoeForCausalLM', layers: 28, hidden: 3584, heads: 28, kv: 4, headDim: 128, inter: 18944, vocab: 151936, tied: false,
    moe: { experts: 64, topK: 8, expertInter: 2560, shared: 20480, norm: false },
  },
};

// Parameter counts the model authors publish (model cards / Hub), not computed here.
const PUBLISHED: Record<string, number> = {
  'smollm2-135m': 134_515_008,
  'qwen2.5-0.5b': 0.49e9,
  'qwen3-0.6b': 0.6e9,
  'llama-3.2-1b': 1.23e9,
  'mistral-7b': 7.2e9,
  'qwen2.5-7b': 7.61e9,
  'llama-3.1-70b': 70.6e9,
  'mixtral-8x7b': 46.7e9,
  'qwen3-30b-a3b': 30.5e9,
  'qwen2-57b-a14b': 57.41e9,
};

const elements = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

describe('shape registry', () => {
  it('holds the shapes the benchmarks name', () => {
    expect(shapeNames().sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.keys(EXPECTED))('%s has the published shape numbers', (name) => {
    const e = EXPECTED[name];
    const { spec } = parseModelConfig(SHAPES[name].config, undefined, name);
    expect({
      arch: spec.architecture, layers: spec.numLayers, hidden: spec.hiddenSize, heads: spec.numHeads, kv: spec.numKvHeads,
      headDim: spec.headDim, inter: spec.intermediateSize, vocab: spec.vocabSize, tied: spec.tieWordEmbeddings,
      ...(spec.moe && {
        moe: {
          experts: spec.moe.numExperts, topK: spec.moe.topK, expertInter: spec.moe.expertIntermediateSize,
          shared: spec.moe.sharedExpertIntermediateSize, norm: spec.moe.normTopkProb,
        },
      }),
    }).toEqual(e);
    if (spec.moe) expect(spec.moe.sparseLayers).toHaveLength(spec.numLayers);
    expect(spec.dtype).toBe('bfloat16');
  });

  it.each(Object.keys(PUBLISHED))('%s: countParams is within 1%% of the published count', (name) => {
    const { params, published } = SHAPES[name];
    expect(published.params).toBe(PUBLISHED[name]);
    expect(Math.abs(params / PUBLISHED[name] - 1)).toBeLessThan(0.01);
  });

  it('matches the exact totals that can be derived from the model cards', () => {
    expect(SHAPES['smollm2-135m'].params).toBe(134_515_008);
    // Qwen2.5 cards give non-embedding counts too: 0.36B and 6.53B.
    const nonEmbedding = (name: string) => SHAPES[name].params - (SHAPES[name].config.tie_word_embeddings ? 1 : 2) * EXPECTED[name].vocab * EXPECTED[name].hidden;
    expect(nonEmbedding('qwen2.5-0.5b') / 1e9).toBeCloseTo(0.36, 2);
    expect(nonEmbedding('qwen2.5-7b') / 1e9).toBeCloseTo(6.53, 2);
    expect(nonEmbedding('qwen3-0.6b') / 1e9).toBeCloseTo(0.44, 2);
    // MoE cards: Qwen2-57B-A14B 56.32B non-embedding, Qwen3-30B-A3B 29.9B; Mixtral 12.9B per token.
    expect(nonEmbedding('qwen2-57b-a14b') / 1e9).toBeCloseTo(56.32, 2);
    expect(nonEmbedding('qwen3-30b-a3b') / 1e9).toBeCloseTo(29.9, 1);
    const mixtral = EXPECTED['mixtral-8x7b'];
    const inactiveExperts = (8 - 2) * 3 * mixtral.hidden * mixtral.inter * mixtral.layers;
    expect((SHAPES['mixtral-8x7b'].params - inactiveExperts) / 1e9).toBeCloseTo(12.9, 1);
  });

  it.each(shapeNames())('%s: countParams counts exactly the tensors a checkpoint holds', (name) => {
    const layout = checkpointLayout(SHAPES[name].config as Record<string, unknown>);
    const all = [...layout.head, ...layout.layers.flat(), ...layout.tail];
    expect(all.reduce((n, t) => n + elements(t.shape), 0)).toBe(SHAPES[name].params);
  });

  it('is read-only: configs are frozen, shapeConfig hands out copies', () => {
    const config = SHAPES['llama-3.1-70b'].config;
    expect(() => {
      (config as Record<string, unknown>).num_hidden_layers = 1;
    }).toThrow(TypeError);
    const copy = shapeConfig('llama-3.1-70b', { layers: 2 });
    (copy.rope_scaling as Record<string, unknown>).factor = 1;
    expect((config.rope_scaling as Record<string, unknown>).factor).toBe(8);
  });
});

describe('shapeConfig', () => {
  it('keeps the first N layers and records what was synthesised', () => {
    const c = shapeConfig('llama-3.1-70b', { layers: 2, seed: 7 });
    expect(c.num_hidden_layers).toBe(2);
    expect(c[PROVENANCE_KEY]).toMatchObject({
      synthetic: true, shape: 'llama-3.1-70b', hf_repo: 'meta-llama/Llama-3.1-70B', original_num_hidden_layers: 80, seed: 7,
    });
    const { num_hidden_layers: _a, [PROVENANCE_KEY]: _b, ...rest } = c;
    const { num_hidden_layers: _c, ...published } = SHAPES['llama-3.1-70b'].config;
    expect(rest).toEqual(published);
    expect(countParams(c)).toBe(2 * 855_654_400 + 2 * 128256 * 8192 + 8192);
  });

  it('keeps every layer by default', () => {
    expect(shapeConfig('qwen2.5-7b').num_hidden_layers).toBe(28);
    expect(countParams(shapeConfig('qwen2.5-7b'))).toBe(SHAPES['qwen2.5-7b'].params);
  });

  it('refuses layer counts the model does not have', () => {
    for (const layers of [0, 17, 1.5, Number.NaN]) {
      expect(() => shapeConfig('llama-3.2-1b', { layers })).toThrow(/--layers must be an integer in \[1, 16\]/);
    }
  });

  it('names the known shapes when asked for an unknown one', () => {
    let err: unknown;
    try {
      shapeConfig('llama-4-405b');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`unknown shape 'llama-4-405b'; known shapes: ${shapeNames().join(', ')}`);
    expect(() => shapeConfig('toString')).toThrow(UserError);
  });

  it('synthConfig works on any config and records its source', () => {
    const c = synthConfig({ ...SHAPES['mistral-7b'].config }, { shape: null, sourceConfig: '/x/config.json', layers: 3 });
    expect(c[PROVENANCE_KEY]).toMatchObject({ shape: null, source_config: '/x/config.json', original_num_hidden_layers: 32 });
    expect(c[PROVENANCE_KEY]).not.toHaveProperty('hf_repo');
  });
});

describe('withByteLevelTokenIds', () => {
  it('points bos/eos at the byte-level tokenizer and keeps the published ids', () => {
    const c = withByteLevelTokenIds(shapeConfig('qwen2.5-0.5b', { layers: 1 }));
    expect([c.bos_token_id, c.eos_token_id, c.vocab_size]).toEqual([1, 2, 151936]);
    expect(c[PROVENANCE_KEY]).toMatchObject({ shape: 'qwen2.5-0.5b', original_bos_token_id: 151643, original_eos_token_id: 151643 });
  });

  it('leaves configs that already agree alone', () => {
    const c = shapeConfig('mistral-7b', { layers: 1 });
    expect(withByteLevelTokenIds(c)).toEqual(c);
  });
});

/**
 * A checkpoint whose safetensors file has the real header and a sparse (unwritten) data section:
 * the load plan reads only headers, so this checks every shape's tensors, even 70B's, for free.
 */
function sparseCheckpoint(config: Record<string, unknown>): string {
  const dir = tempDir('shape');
  made.push(dir);
  mkdirSync(dir, { recursive: true });
  const layout = checkpointLayout(config);
  const tensors = [...layout.head, ...layout.layers.flat(), ...layout.tail].map((t) => ({ name: t.name, dtype: 'BF16' as const, shape: t.shape }));
  const header = safetensorsHeader(tensors, { format: 'pt' });
  const file = join(dir, 'model.safetensors');
  writeFileSync(file, header);
  truncateSync(file, header.length + tensors.reduce((n, t) => n + 2 * elements(t.shape), 0));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

describe('every shape at --layers 1', () => {
  it.each(shapeNames())('%s loads with buildLoadPlan with the real tensor shapes', (name) => {
    const e = EXPECTED[name];
    const plan = buildLoadPlan(sparseCheckpoint(shapeConfig(name, { layers: 1 })));
    const [layer] = plan.layers;
    expect(plan.layers).toHaveLength(1);
    expect(plan.unusedTensors).toEqual([]);
    expect(plan.embed.shape).toEqual([e.vocab, e.hidden]);
    expect(plan.lmHead.shape).toEqual([e.vocab, e.hidden]);
    expect(plan.lmHeadTied).toBe(e.tied);
    expect(plan.lmHead === plan.embed).toBe(e.tied);
    expect(layer.q_proj.shape).toEqual([e.heads * e.headDim, e.hidden]);
    expect(layer.k_proj.shape).toEqual([e.kv * e.headDim, e.hidden]);
    expect(layer.v_proj.shape).toEqual([e.kv * e.headDim, e.hidden]);
    expect(layer.o_proj.shape).toEqual([e.hidden, e.heads * e.headDim]);
    if (e.moe) {
      expect(layer.gate_proj).toBeUndefined();
      expect(layer.router?.shape).toEqual([e.moe.experts, e.hidden]);
      expect(layer.experts).toHaveLength(e.moe.experts);
      for (const x of layer.experts!) {
        expect([x.gate_proj.shape, x.up_proj.shape, x.down_proj.shape]).toEqual([[e.moe.expertInter, e.hidden], [e.moe.expertInter, e.hidden], [e.hidden, e.moe.expertInter]]);
      }
      expect(layer.shared_gate_proj?.shape).toEqual(e.moe.shared ? [e.moe.shared, e.hidden] : undefined);
      expect(layer.shared_expert_gate?.shape).toEqual(e.moe.shared ? [1, e.hidden] : undefined);
    } else {
      expect(layer.gate_proj?.shape).toEqual([e.inter, e.hidden]);
      expect(layer.up_proj?.shape).toEqual([e.inter, e.hidden]);
      expect(layer.down_proj?.shape).toEqual([e.hidden, e.inter]);
    }
    const qkvBias = e.arch === 'Qwen2ForCausalLM' || e.arch === 'Qwen2MoeForCausalLM';
    expect(layer.q_bias?.shape).toEqual(qkvBias ? [e.heads * e.headDim] : undefined);
    expect(layer.k_bias?.shape).toEqual(qkvBias ? [e.kv * e.headDim] : undefined);
    expect(layer.q_norm?.shape).toEqual(e.arch === 'Qwen3ForCausalLM' || e.arch === 'Qwen3MoeForCausalLM' ? [e.headDim] : undefined);
    expect(plan.spec.slidingWindow).toBe(e.arch === 'MistralForCausalLM' ? 4096 : null);
    expect(plan.spec.rope.type).toBe(name.startsWith('llama-3') ? 'llama3' : 'default');
  });
});
