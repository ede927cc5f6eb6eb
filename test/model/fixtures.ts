import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import type { FloatDtype } from '../../bench/model/dtype.js';
import { encodeSafetensors, type TensorBytes } from '../../bench/synth/safetensors.js';
import { FLOAT_DTYPE_BYTES } from '../../bench/model/dtype.js';

/** Returns a maker of temp folders that are removed after each test of the calling file. */
export function useTempDirs(): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rabbit-model-'));
    dirs.push(dir);
    return dir;
  };
}

/** A tensor whose bytes count up, so tests can tell tensors apart by content. */
export function tensor(name: string, shape: number[], dtype: FloatDtype = 'F32'): TensorBytes {
  const data = new Uint8Array(shape.reduce((a, b) => a * b, 1) * FLOAT_DTYPE_BYTES[dtype]);
  data.forEach((_, i) => (data[i] = (i + name.length) % 251));
  return { name, dtype, shape, data };
}

/** hidden 16, 4 heads of 4, 2 kv heads, intermediate 24, vocab 10, 2 layers. */
export const TINY = { hidden: 16, heads: 4, kvHeads: 2, headDim: 4, inter: 24, vocab: 10, layers: 2 };

export function tinyConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: TINY.hidden,
    intermediate_size: TINY.inter,
    num_hidden_layers: TINY.layers,
    num_attention_heads: TINY.heads,
    num_key_value_heads: TINY.kvHeads,
    vocab_size: TINY.vocab,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    hidden_act: 'silu',
    torch_dtype: 'float32',
    tie_word_embeddings: false,
    ...overrides,
  };
}

export interface TinyTensorOptions {
  layers?: number;
  qkvBias?: boolean;
  oBias?: boolean;
  mlpBias?: boolean;
  qkNorm?: boolean;
  lmHead?: boolean;
  dtype?: FloatDtype;
}

/** The tensors transformers would save for the TINY dimensions, in its naming. */
export function tinyTensors(opts: TinyTensorOptions = {}): TensorBytes[] {
  const { hidden, heads, kvHeads, headDim, inter, vocab } = TINY;
  const dtype = opts.dtype ?? 'F32';
  const t = (name: string, shape: number[]) => tensor(name, shape, dtype);
  const out = [t('model.embed_tokens.weight', [vocab, hidden]), t('model.norm.weight', [hidden])];
  if (opts.lmHead ?? true) out.push(t('lm_head.weight', [vocab, hidden]));
  for (let i = 0; i < (opts.layers ?? TINY.layers); i++) {
    const p = `model.layers.${i}.`;
    out.push(
      t(`${p}input_layernorm.weight`, [hidden]),
      t(`${p}self_attn.q_proj.weight`, [heads * headDim, hidden]),
      t(`${p}self_attn.k_proj.weight`, [kvHeads * headDim, hidden]),
      t(`${p}self_attn.v_proj.weight`, [kvHeads * headDim, hidden]),
      t(`${p}self_attn.o_proj.weight`, [hidden, heads * headDim]),
      t(`${p}post_attention_layernorm.weight`, [hidden]),
      t(`${p}mlp.gate_proj.weight`, [inter, hidden]),
      t(`${p}mlp.up_proj.weight`, [inter, hidden]),
      t(`${p}mlp.down_proj.weight`, [hidden, inter]),
    );
    if (opts.qkvBias) {
      out.push(
        t(`${p}self_attn.q_proj.bias`, [heads * headDim]),
        t(`${p}self_attn.k_proj.bias`, [kvHeads * headDim]),
        t(`${p}self_attn.v_proj.bias`, [kvHeads * headDim]),
      );
    }
    if (opts.oBias) out.push(t(`${p}self_attn.o_proj.bias`, [hidden]));
    if (opts.qkNorm) out.push(t(`${p}self_attn.q_norm.weight`, [headDim]), t(`${p}self_attn.k_norm.weight`, [headDim]));
    if (opts.mlpBias) {
      out.push(t(`${p}mlp.gate_proj.bias`, [inter]), t(`${p}mlp.up_proj.bias`, [inter]), t(`${p}mlp.down_proj.bias`, [hidden]));
    }
  }
  return out;
}

export interface WriteModelOptions {
  generation?: Record<string, unknown>;
  /** Split the tensors round-robin over this many shards with an index, as save_pretrained does. */
  shards?: number;
}

export function writeModel(
  dir: string,
  config: Record<string, unknown>,
  tensors: TensorBytes[],
  opts: WriteModelOptions = {},
): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  if (opts.generation) fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify(opts.generation));
  const shards = opts.shards ?? 0;
  if (shards === 0) {
    fs.writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
    return dir;
  }
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const mine = tensors.filter((_, i) => i % shards === s);
    for (const t of mine) weightMap[t.name] = file;
    fs.writeFileSync(path.join(dir, file), encodeSafetensors(mine));
  }
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return dir;
}
