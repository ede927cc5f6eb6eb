import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { readSafetensorsHeader } from '../../bench/model/safetensors.js';
import { TINY, tensor, tinyConfig, tinyTensors, useTempDirs, writeModel } from './fixtures.js';

const tempDir = useTempDirs();
const SHARD_1 = 'model-00001-of-00002.safetensors';
const SHARD_2 = 'model-00002-of-00002.safetensors';

describe('buildLoadPlan', () => {
  it('plans a single-file Llama checkpoint', () => {
    const dir = writeModel(tempDir(), tinyConfig({ eos_token_id: 2 }), [
      ...tinyTensors(),
      tensor('model.layers.0.self_attn.rotary_emb.inv_freq', [2]),
    ]);
    const plan = buildLoadPlan(dir, {});
    const file = path.join(dir, 'model.safetensors');
    const header = readSafetensorsHeader(file).tensors;
    expect(plan.modelDir).toBe(dir);
    expect(plan.spec).toMatchObject({ architecture: 'LlamaForCausalLM', numLayers: 2, eosTokenIds: [2] });
    expect(plan.files).toEqual([file]);
    expect(plan.embed).toEqual(header.get('model.embed_tokens.weight'));
    expect(plan.finalNorm).toEqual(header.get('model.norm.weight'));
    expect(plan.lmHead).toEqual(header.get('lm_head.weight'));
    expect(plan.lmHeadTied).toBe(false);
    expect(plan.layers).toHaveLength(2);
    expect(Object.keys(plan.layers[1]).sort()).toEqual(
      ['down_proj', 'gate_proj', 'input_layernorm', 'k_proj', 'o_proj', 'post_attention_layernorm', 'q_proj', 'up_proj', 'v_proj'],
    );
    expect(plan.layers[1].k_proj).toEqual(header.get('model.layers.1.self_attn.k_proj.weight'));
    expect(plan.layers[1].k_proj.shape).toEqual([TINY.kvHeads * TINY.headDim, TINY.hidden]);
    expect(plan.unusedTensors).toEqual(['model.layers.0.self_attn.rotary_emb.inv_freq']);
  });

  it('plans a sharded checkpoint from its index, with every shard in files', () => {
    const dir = writeModel(tempDir(), tinyConfig(), tinyTensors(), { shards: 2 });
    const plan = buildLoadPlan(dir, {});
    expect(plan.files).toEqual([path.join(dir, SHARD_1), path.join(dir, SHARD_2)]);
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    const shard = index.weight_map['model.layers.1.mlp.down_proj.weight'];
    expect(plan.layers[1].down_proj?.file).toBe(path.join(dir, shard));
    expect(plan.layers[1].down_proj).toEqual(
      readSafetensorsHeader(path.join(dir, shard)).tensors.get('model.layers.1.mlp.down_proj.weight'),
    );
    expect(plan.unusedTensors).toEqual([]);
  });

  it('names a shard the index refers to that does not exist', () => {
    const dir = writeModel(tempDir(), tinyConfig(), tinyTensors(), { shards: 2 });
    fs.rmSync(path.join(dir, SHARD_2));
    expect(() => buildLoadPlan(dir, {})).toThrow(
      new RegExp(`model\\.safetensors\\.index\\.json: shard ${SHARD_2} is missing \\(looked for ${path.join(dir, SHARD_2)}; it should hold`),
    );
  });

  it('rejects an index entry that its shard does not contain', () => {
    const dir = writeModel(tempDir(), tinyConfig(), tinyTensors(), { shards: 2 });
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
    index.weight_map['model.extra.weight'] = SHARD_1;
    fs.writeFileSync(indexFile, JSON.stringify(index));
    expect(() => buildLoadPlan(dir, {})).toThrow(
      new RegExp(`weight_map puts model\\.extra\\.weight in ${SHARD_1}, but that file has no tensor of that name`),
    );
  });

  it('ties lm_head to the embedding even when lm_head.weight is stored', () => {
    const dir = writeModel(tempDir(), tinyConfig({ tie_word_embeddings: true }), tinyTensors());
    const plan = buildLoadPlan(dir, {});
    expect(plan.lmHeadTied).toBe(true);
    expect(plan.lmHead).toBe(plan.embed);
    expect(plan.unusedTensors).toEqual(['lm_head.weight']);
  });

  it('ties a checkpoint without lm_head.weight', () => {
    const dir = writeModel(tempDir(), tinyConfig({ tie_word_embeddings: true }), tinyTensors({ lmHead: false }));
    const plan = buildLoadPlan(dir, {});
    expect(plan.lmHead).toBe(plan.embed);
    expect(plan.unusedTensors).toEqual([]);
  });

  it('refuses a missing lm_head.weight when embeddings are not tied', () => {
    const dir = writeModel(tempDir(), tinyConfig(), tinyTensors({ lmHead: false }));
    expect(() => buildLoadPlan(dir, {})).toThrow(
      /lm_head\.weight is missing and tie_word_embeddings is false: the logits would be all zero/,
    );
  });

  it('says which tensor contradicts the config, and how', () => {
    const tensors = tinyTensors().map((t) =>
      t.name === 'model.layers.0.self_attn.k_proj.weight' ? tensor(t.name, [16, 16]) : t,
    );
    const dir = writeModel(tempDir(), tinyConfig(), tensors);
    expect(() => buildLoadPlan(dir, {})).toThrow(
      'config contradicts checkpoint: model.layers.0.self_attn.k_proj.weight has shape [16,16], ' +
        'config implies [8,16] (num_key_value_heads=2, head_dim=4, hidden_size=16)',
    );
    writeModel(dir, tinyConfig({ vocab_size: 12 }), tinyTensors());
    expect(() => buildLoadPlan(dir, {})).toThrow(
      /model\.embed_tokens\.weight has shape \[10,16\], config implies \[12,16\] \(vocab_size=12, hidden_size=16\)/,
    );
  });

  it('requires the q/k/v biases of Qwen2 and leaves a stored o_proj bias unused', () => {
    const config = tinyConfig({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' });
    const missing = writeModel(tempDir(), config, tinyTensors());
    expect(() => buildLoadPlan(missing, {})).toThrow(
      /tensor model\.layers\.0\.self_attn\.q_proj\.bias is missing \(required: Qwen2 always has q\/k\/v biases\); searched model\.safetensors/,
    );
    const dir = writeModel(tempDir(), config, tinyTensors({ qkvBias: true, oBias: true }));
    const plan = buildLoadPlan(dir, {});
    expect(plan.layers[0].q_bias?.shape).toEqual([TINY.heads * TINY.headDim]);
    expect(plan.layers[0].k_bias?.shape).toEqual([TINY.kvHeads * TINY.headDim]);
    expect(plan.layers[0].v_bias).toBeDefined();
    expect(plan.layers[0].o_bias).toBeUndefined();
    expect(plan.unusedTensors).toEqual(['model.layers.0.self_attn.o_proj.bias', 'model.layers.1.self_attn.o_proj.bias']);
  });

  it('requires Qwen3 q_norm and k_norm of head_dim', () => {
    const config = tinyConfig({ architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', head_dim: TINY.headDim });
    const missing = writeModel(tempDir(), config, tinyTensors());
    expect(() => buildLoadPlan(missing, {})).toThrow(
      /tensor model\.layers\.0\.self_attn\.q_norm\.weight is missing \(required: Qwen3 normalises q and k per head\)/,
    );
    const plan = buildLoadPlan(writeModel(tempDir(), config, tinyTensors({ qkNorm: true })), {});
    expect(plan.spec.qkNorm).toBe(true);
    expect(plan.layers[1].q_norm?.shape).toEqual([TINY.headDim]);
    expect(plan.layers[1].k_norm?.shape).toEqual([TINY.headDim]);
    expect(plan.layers[1].q_bias).toBeUndefined();
  });

  it('requires Llama attention and MLP biases exactly when the config asks for them', () => {
    const all = { qkvBias: true, oBias: true, mlpBias: true };
    const asked = buildLoadPlan(writeModel(tempDir(), tinyConfig({ attention_bias: true, mlp_bias: true }), tinyTensors(all)), {});
    expect(asked.layers[0].o_bias?.shape).toEqual([TINY.hidden]);
    expect(asked.layers[0].gate_bias?.shape).toEqual([TINY.inter]);
    expect(asked.layers[0].down_bias?.shape).toEqual([TINY.hidden]);
    expect(asked.unusedTensors).toEqual([]);

    const notAsked = buildLoadPlan(writeModel(tempDir(), tinyConfig(), tinyTensors(all)), {});
    expect(notAsked.layers[0].q_bias).toBeUndefined();
    expect(notAsked.unusedTensors).toHaveLength(14);

    const dir = writeModel(tempDir(), tinyConfig({ mlp_bias: true }), tinyTensors());
    expect(() => buildLoadPlan(dir, {})).toThrow(/model\.layers\.0\.mlp\.gate_proj\.bias is missing \(required: mlp_bias is true\)/);
  });

  it('allows tensors of different dtypes in one checkpoint', () => {
    const tensors = tinyTensors().map((t) => (t.name === 'model.embed_tokens.weight' ? tensor(t.name, t.shape, 'BF16') : t));
    const plan = buildLoadPlan(writeModel(tempDir(), tinyConfig(), tensors), {});
    expect(plan.embed.dtype).toBe('BF16');
    expect(plan.lmHead.dtype).toBe('F32');
  });

  it('names a missing layer and a missing tensor with the files searched', () => {
    const oneLayer = writeModel(tempDir(), tinyConfig(), tinyTensors({ layers: 1 }));
    expect(() => buildLoadPlan(oneLayer, {})).toThrow(
      /layer 1 is missing: config has num_hidden_layers=2 but the checkpoint has no model\.layers\.1\.\* tensors; searched model\.safetensors/,
    );
    const noNorm = writeModel(tempDir(), tinyConfig(), tinyTensors().filter((t) => t.name !== 'model.norm.weight'), { shards: 2 });
    expect(() => buildLoadPlan(noNorm, {})).toThrow(
      new RegExp(`tensor model\\.norm\\.weight is missing; searched model\\.safetensors\\.index\\.json and its shards ${SHARD_1}, ${SHARD_2}`),
    );
  });

  it('leaves layers beyond num_hidden_layers unused', () => {
    const plan = buildLoadPlan(writeModel(tempDir(), tinyConfig({ num_hidden_layers: 1 }), tinyTensors()), {});
    expect(plan.layers).toHaveLength(1);
    expect(plan.unusedTensors).toHaveLength(9);
    expect(plan.unusedTensors.every((name) => name.startsWith('model.layers.1.'))).toBe(true);
  });

  it('reads eos ids from generation_config.json', () => {
    const dir = writeModel(tempDir(), tinyConfig({ eos_token_id: 2 }), tinyTensors(), {
      generation: { eos_token_id: [5, 2], bos_token_id: 1 },
    });
    expect(buildLoadPlan(dir, {}).spec).toMatchObject({ eosTokenIds: [5, 2], bosTokenId: 1 });
  });

  it('explains a folder without config.json or without a safetensors checkpoint', () => {
    const dir = tempDir();
    expect(() => buildLoadPlan(dir, {})).toThrow(new RegExp(`${dir}: no config\\.json`));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(tinyConfig()));
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), '');
    expect(() => buildLoadPlan(dir, {})).toThrow(
      /no model\.safetensors or model\.safetensors\.index\.json \(only safetensors checkpoints are supported\); the folder holds: config\.json, pytorch_model\.bin/,
    );
    fs.writeFileSync(path.join(dir, 'config.json'), '{"hidden_size": 16,');
    expect(() => buildLoadPlan(dir, {})).toThrow(/config\.json: not valid JSON/);
  });

  it('plans a Hub id from the local cache', () => {
    const hub = tempDir();
    const commit = 'c'.repeat(40);
    const repoDir = path.join(hub, 'models--org--tiny');
    const snapshot = writeModel(path.join(repoDir, 'snapshots', commit), tinyConfig(), tinyTensors());
    fs.mkdirSync(path.join(repoDir, 'refs'));
    fs.writeFileSync(path.join(repoDir, 'refs', 'main'), commit);
    const plan = buildLoadPlan('org/tiny', { HF_HUB_CACHE: hub });
    expect(plan.modelDir).toBe(snapshot);
    expect(plan.files).toEqual([path.join(snapshot, 'model.safetensors')]);
  });
});
