import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CheckpointOptions, writeCheckpoint } from '../../bench/synth/checkpoint.js';
import { f32ArrayToBf16 } from '../../bench/synth/half.js';
import { Rng } from '../../bench/synth/prng.js';
import { encodeSafetensors, tensorByteSize } from '../../bench/synth/safetensors.js';
import { readSafetensorsHeader } from '../../bench/model/safetensors.js';
import { FIXTURES } from '../../bench/synth/fixture-specs.js';
import { meanStd, readSafetensors, type StoredTensor, tempDir, toFloat32 } from './helpers.js';

const made: string[] = [];
function fresh(prefix: string): string {
  const d = tempDir(prefix);
  made.push(d);
  return d;
}
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function write(opts: CheckpointOptions): string {
  const dir = fresh('ckpt');
  writeCheckpoint(dir, opts);
  return dir;
}

function filesOf(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f))]));
}

/** Every tensor of a checkpoint folder, whatever the sharding. */
function allTensors(dir: string): Map<string, StoredTensor> {
  const out = new Map<string, StoredTensor>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort()) {
    for (const [name, t] of readSafetensors(join(dir, f)).tensors) {
      expect(out.has(name), `${name} stored twice`).toBe(false);
      out.set(name, t);
    }
  }
  return out;
}

const qwen3 = FIXTURES['qwen3-headdim-qknorm-f32'];
const llamaBias = FIXTURES['llama-untied-mha-llama3-bias-bf16'];

describe('writeCheckpoint determinism', () => {
  it('writes byte-identical folders for the same options', () => {
    const a = filesOf(write(llamaBias));
    const b = filesOf(write(llamaBias));
    expect([...a.keys()]).toEqual([
      'config.json', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors',
      'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json',
    ]);
    for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(true);
  });

  it('changes every weight file, and nothing else, with the seed', () => {
    const a = filesOf(write(llamaBias));
    const b = filesOf(write({ ...llamaBias, seed: llamaBias.seed + 1 }));
    for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(!name.endsWith('.safetensors'));
  });

  it('gives each tensor the same values whatever the sharding', () => {
    const three = allTensors(write(qwen3));
    const one = allTensors(write({ ...qwen3, shards: 1 }));
    expect([...one.keys()].sort()).toEqual([...three.keys()].sort());
    for (const [name, t] of one) expect(t.data.equals(three.get(name)!.data), name).toBe(true);
  });

  it('writes the same values rounded in each dtype', () => {
    const f32 = allTensors(write({ ...llamaBias, dtype: 'float32', shards: 1 }));
    const bf16 = allTensors(write({ ...llamaBias, shards: 1 }));
    const f16 = allTensors(write({ ...llamaBias, dtype: 'float16', shards: 1 }));
    const name = 'model.layers.1.mlp.up_proj.weight';
    const [x, b, h] = [f32, bf16, f16].map((m) => toFloat32(m.get(name)!));
    expect(bf16.get(name)!.dtype).toBe('BF16');
    expect(f16.get(name)!.dtype).toBe('F16');
    for (let i = 0; i < x.length; i++) {
      // Half an ulp: bf16 keeps 8 significant bits, f16 11.
      expect(Math.abs(b[i] - x[i])).toBeLessThanOrEqual(Math.abs(x[i]) * 2 ** -8);
      expect(Math.abs(h[i] - x[i])).toBeLessThanOrEqual(Math.max(Math.abs(x[i]) * 2 ** -11, 2 ** -25));
    }
  });
});

describe('writeCheckpoint sharding', () => {
  it('puts every tensor in exactly one shard and writes a consistent index', () => {
    const dir = fresh('shards');
    const written = writeCheckpoint(dir, qwen3);
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as {
      metadata: { total_size: number };
      weight_map: Record<string, string>;
    };
    const shards = ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors'];
    expect([...new Set(Object.values(index.weight_map))].sort()).toEqual(shards);
    let total = 0;
    const seen = new Set<string>();
    shards.forEach((file, s) => {
      const { metadata, tensors } = readSafetensors(join(dir, file));
      expect(metadata).toEqual({ format: 'pt' });
      for (const [name, t] of tensors) {
        expect(seen.has(name), name).toBe(false);
        seen.add(name);
        expect(index.weight_map[name]).toBe(file);
        expect(t.data.length).toBe(tensorByteSize({ dtype: 'F32', shape: t.shape }));
        total += t.data.length;
        // Whole layers per shard: layer s lives in shard s, the embedding first, norm and lm_head last.
        const layer = /^model\.layers\.(\d+)\./.exec(name)?.[1];
        if (layer !== undefined) expect(Number(layer)).toBe(s);
      }
    });
    expect(seen).toEqual(new Set(Object.keys(index.weight_map)));
    expect(Object.keys(index.weight_map)).toEqual(Object.keys(index.weight_map).sort());
    expect(index.metadata.total_size).toBe(total);
    expect(written).toMatchObject({ dir, weightFiles: shards, tensorCount: seen.size, totalSize: total });
    expect([...written.files].sort()).toEqual(readdirSync(dir).sort());
    expect(index.weight_map['model.embed_tokens.weight']).toBe(shards[0]);
    expect(index.weight_map['model.norm.weight']).toBe(shards[2]);
    expect(index.weight_map['lm_head.weight']).toBe(shards[2]);
  });

  it('writes a single model.safetensors and no index for one shard', () => {
    const dir = write(FIXTURES['llama-tied-gqa-f32']);
    expect(readdirSync(dir).filter((f) => f.includes('safetensors'))).toEqual(['model.safetensors']);
  });

  it('refuses a non-empty folder and more shards than layers', () => {
    const dir = fresh('busy');
    writeFileSync(join(dir, 'model-00001-of-00009.safetensors'), '');
    expect(() => writeCheckpoint(dir, qwen3)).toThrow(/not empty/);
    expect(() => writeCheckpoint(fresh('many'), { ...qwen3, shards: 4 })).toThrow(/shards/);
  });
});

describe('writeCheckpoint tensors follow transformers', () => {
  const shapes = (opts: CheckpointOptions): Record<string, number[]> =>
    Object.fromEntries([...allTensors(write(opts))].map(([n, t]) => [n, t.shape]));
  const layer0 = (s: Record<string, number[]>): Record<string, number[]> =>
    Object.fromEntries(Object.entries(s).filter(([n]) => n.startsWith('model.layers.0.')).map(([n, v]) => [n.slice(15), v]));

  it('Qwen3: q_norm/k_norm over head_dim, projections sized by head_dim, untied lm_head', () => {
    const s = shapes(qwen3);
    expect(layer0(s)).toEqual({
      'input_layernorm.weight': [48],
      'self_attn.q_proj.weight': [64, 48],
      'self_attn.k_proj.weight': [32, 48],
      'self_attn.v_proj.weight': [32, 48],
      'self_attn.o_proj.weight': [48, 64],
      'self_attn.q_norm.weight': [16],
      'self_attn.k_norm.weight': [16],
      'post_attention_layernorm.weight': [48],
      'mlp.gate_proj.weight': [128, 48],
      'mlp.up_proj.weight': [128, 48],
      'mlp.down_proj.weight': [48, 128],
    });
    expect(s['lm_head.weight']).toEqual([352, 48]);
    expect(s['model.embed_tokens.weight']).toEqual([352, 48]);
    expect(Object.keys(s)).toHaveLength(3 + 3 * 11);
  });

  it('Qwen2: q/k/v biases but no o_proj bias; tied, so no lm_head.weight', () => {
    const s = shapes(FIXTURES['qwen2-gqa-tied-bf16']);
    const biases = Object.keys(layer0(s)).filter((n) => n.endsWith('.bias'));
    expect(biases).toEqual(['self_attn.q_proj.bias', 'self_attn.k_proj.bias', 'self_attn.v_proj.bias']);
    expect(layer0(s)['self_attn.k_proj.bias']).toEqual([16]);
    expect(s['lm_head.weight']).toBeUndefined();
  });

  it('Llama with attention_bias and mlp_bias: a bias on all seven projections', () => {
    const biases = Object.entries(layer0(shapes(llamaBias))).filter(([n]) => n.endsWith('.bias'));
    expect(Object.fromEntries(biases)).toEqual({
      'self_attn.q_proj.bias': [64], 'self_attn.k_proj.bias': [64], 'self_attn.v_proj.bias': [64], 'self_attn.o_proj.bias': [64],
      'mlp.gate_proj.bias': [128], 'mlp.up_proj.bias': [128], 'mlp.down_proj.bias': [64],
    });
  });

  it('Mistral MQA: one kv head, no biases', () => {
    const l0 = layer0(shapes(FIXTURES['mistral-mqa-swa-f16']));
    expect(l0['self_attn.k_proj.weight']).toEqual([16, 64]);
    expect(Object.keys(l0).filter((n) => n.endsWith('.bias'))).toEqual([]);
  });

  it('writes config.json with torch_dtype, or dtype when asked, and generation_config.json', () => {
    const old = write(FIXTURES['mistral-mqa-swa-f16']);
    const cfg = JSON.parse(readFileSync(join(old, 'config.json'), 'utf8'));
    expect(cfg.torch_dtype).toBe('float16');
    expect(cfg.dtype).toBeUndefined();
    expect(cfg.sliding_window).toBe(64);
    expect(JSON.parse(readFileSync(join(old, 'generation_config.json'), 'utf8'))).toEqual({ bos_token_id: 1, eos_token_id: 2 });
    const v5 = write(qwen3);
    const cfg5 = JSON.parse(readFileSync(join(v5, 'config.json'), 'utf8'));
    expect(cfg5.dtype).toBe('float32');
    expect(cfg5.torch_dtype).toBeUndefined();
    expect(cfg5.rope_parameters).toEqual({ rope_type: 'default', rope_theta: 1000000 });
    expect(JSON.parse(readFileSync(join(v5, 'generation_config.json'), 'utf8'))).toEqual({ bos_token_id: 1, eos_token_id: [2, 3] });
  });

  it('rejects configs it cannot lay out', () => {
    const cfg = qwen3.config;
    expect(() => write({ ...qwen3, config: { ...cfg, architectures: ['GPT2LMHeadModel'] } })).toThrow(/architectures/);
    const { head_dim: _, ...noHeadDim } = cfg;
    expect(() => write({ ...qwen3, config: noHeadDim })).toThrow(/head_dim/); // Qwen3's default is 128, not hidden/heads
    expect(() => write({ ...qwen3, config: { ...cfg, num_key_value_heads: 3 } })).toThrow(/multiple/);
    expect(() => write({ ...qwen3, config: { ...cfg, vocab_size: 200 } })).toThrow(/vocab_size/);
  });
});

describe('writeCheckpoint weight scales', () => {
  it('draws norms near 1 and projections near 1/sqrt(fan_in)', () => {
    const t = allTensors(write({ ...qwen3, shards: 1 }));
    const stat = (n: string): { mean: number; std: number } => meanStd(toFloat32(t.get(n)!));
    const norm = stat('model.layers.0.input_layernorm.weight');
    expect(Math.abs(norm.mean - 1)).toBeLessThan(0.05);
    expect(norm.std).toBeGreaterThan(0.05);
    expect(norm.std).toBeLessThan(0.15);
    const up = stat('model.layers.0.mlp.up_proj.weight');
    expect(Math.abs(up.mean)).toBeLessThan(0.01);
    expect(up.std).toBeCloseTo(1 / Math.sqrt(48), 2);
    expect(stat('model.layers.0.mlp.down_proj.weight').std).toBeCloseTo(4 / Math.sqrt(128), 2);
    expect(stat('model.embed_tokens.weight').std).toBeCloseTo(3 / Math.sqrt(48), 2);
  });

  it('streams tensors larger than a chunk as one uninterrupted stream', () => {
    // 1024 x 1536 is 1.5 generation chunks of 2^20 elements.
    const name = 'model.layers.0.mlp.down_proj.weight';
    const dir = write({
      config: { ...qwen3.config, hidden_size: 1024, intermediate_size: 1536, num_hidden_layers: 1, vocab_size: 512 },
      dtype: 'bfloat16', shards: 1, seed: 9,
    });
    const t = readSafetensors(join(dir, 'model.safetensors')).tensors.get(name)!;
    expect(t.shape).toEqual([1024, 1536]);
    const whole = new Float32Array(1024 * 1536);
    new Rng(9, name).fillNormal(whole, 0, 4 / Math.sqrt(1536));
    const want = new Uint16Array(whole.length);
    f32ArrayToBf16(whole, want);
    expect(t.data.equals(Buffer.from(want.buffer))).toBe(true);
  });
});

describe('safetensors header', () => {
  it('counts the header length in UTF-8 bytes, so non-ASCII tensor names read back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-utf8-'));
    const file = join(dir, 'x.safetensors');
    writeFileSync(file, encodeSafetensors([{ name: 'poids.énorme.ß', dtype: 'F32', shape: [2], data: new Uint8Array(new Float32Array([1.5, -2]).buffer) }]));
    const header = readSafetensorsHeader(file);
    expect([...header.tensors.keys()]).toEqual(['poids.énorme.ß']);
    expect(header.tensors.get('poids.énorme.ß')!.bytes).toBe(8);
    rmSync(dir, { recursive: true });
  });
});
