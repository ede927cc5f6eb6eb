// Checkpoints that are damaged or ambiguous in ways that would otherwise run: tensors sharing
// bytes, a tensor name given twice (the last would win), and tensors the forward pass drops.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstRepeatedKey } from '../../bench/model/json.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { tensor, tinyConfig, tinyTensors, useTempDirs, writeModel } from './fixtures.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';

const tempDir = useTempDirs();

interface Header {
  text: string;
  data: Buffer;
}

function readHeader(file: string): Header {
  const bytes = fs.readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  return { text: bytes.subarray(8, 8 + length).toString('utf8'), data: bytes.subarray(8 + length) };
}

function writeHeader(file: string, { text, data }: Header): void {
  const padded = Buffer.from(text + ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(padded.length));
  fs.writeFileSync(file, Buffer.concat([prefix, padded, data]));
}

describe('malformed checkpoints are refused', () => {
  it('two tensors whose data_offsets overlap', () => {
    const dir = writeModel(tempDir(), tinyConfig(), tinyTensors());
    const file = path.join(dir, 'model.safetensors');
    const header = readHeader(file);
    const json = JSON.parse(header.text);
    // Same shape, so every other check passes: q_proj would silently read o_proj's weights.
    json['model.layers.0.self_attn.q_proj.weight'].data_offsets = json['model.layers.0.self_attn.o_proj.weight'].data_offsets;
    writeHeader(file, { ...header, text: JSON.stringify(json) });
    expect(() => buildLoadPlan(dir, {})).toThrow(/model\.safetensors: tensors 'model\.layers\.0\.self_attn\.(q|o)_proj\.weight' and 'model\.layers\.0\.self_attn\.(q|o)_proj\.weight' share bytes/);
  });

  it('a tensor named twice in one header', () => {
    const dir = writeModel(tempDir(), tinyConfig(), tinyTensors());
    const file = path.join(dir, 'model.safetensors');
    const header = readHeader(file);
    const json = JSON.parse(header.text);
    const norm = JSON.stringify(json['model.layers.1.input_layernorm.weight']);
    writeHeader(file, { ...header, text: header.text.replace(/^\{/, `{"model.norm.weight":${norm},`) });
    expect(() => buildLoadPlan(dir, {})).toThrow(/model\.safetensors: header: 'model\.norm\.weight' appears twice in one object/);
  });

  it('a tensor named twice in a sharded index', () => {
    const dir = writeModel(tempDir(), tinyConfig(), tinyTensors(), { shards: 2 });
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const text = fs.readFileSync(indexFile, 'utf8');
    const [first, shard] = Object.entries(JSON.parse(text).weight_map as Record<string, string>)[0];
    const other = shard.includes('00001') ? shard.replace('00001-of', '00002-of') : shard.replace('00002-of', '00001-of');
    fs.writeFileSync(indexFile, text.replace('"weight_map":{', `"weight_map":{"${first}":"${other}",`));
    expect(() => buildLoadPlan(dir, {})).toThrow(new RegExp(`index\\.json: '${first.replace(/\./g, '\\.')}' appears twice in one object`));
  });
});

describe('tensors the forward pass does not read', () => {
  it('layers beyond num_hidden_layers are named in a warning', () => {
    const plan = buildLoadPlan(writeModel(tempDir(), tinyConfig({ num_hidden_layers: 1 }), tinyTensors({ layers: 3 })), {});
    expect(plan.warnings).toEqual([
      'the checkpoint holds decoder layers up to 2 but the config has num_hidden_layers=1: 2 layer(s) will not run',
    ]);
  });

  it('a stored bias the config does not ask for is named; rotary caches and a tied head are not', () => {
    const tensors = [...tinyTensors({ oBias: true }), tensor('model.layers.0.self_attn.rotary_emb.inv_freq', [2])];
    const plan = buildLoadPlan(writeModel(tempDir(), tinyConfig({ tie_word_embeddings: true }), tensors), {});
    expect(plan.unusedTensors).toContain('lm_head.weight');
    expect(plan.warnings).toEqual([
      '2 checkpoint tensor(s) are not used by the forward pass: model.layers.0.self_attn.o_proj.bias, model.layers.1.self_attn.o_proj.bias',
    ]);
    expect(buildLoadPlan(writeModel(tempDir(), tinyConfig(), tinyTensors()), {}).warnings).toEqual([]);
  });

  it('generate prints the warning and still runs', async () => {
    // A real fixture: the counting bytes of tinyTensors() are not all finite as floats.
    const dir = path.join(tempDir(), 'model');
    fs.cpSync(buildFixtures(TEST_FIXTURES_DIR)['llama-tied-gqa-f32'], dir, { recursive: true });
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(configFile, 'utf8')), num_hidden_layers: 1 }));
    const run = await runCli(['generate', '--model', dir, '--prompt-ids', '1,2', '--max-new-tokens', '1', '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('rabbit-bench: warning: the checkpoint holds decoder layers up to 1 but the config has num_hidden_layers=1');
  });
});

describe('firstRepeatedKey', () => {
  it('finds a key repeated in any object, and only keys', () => {
    expect(firstRepeatedKey('{"a":1,"b":{"c":2,"c":3}}')).toBe('c');
    expect(firstRepeatedKey('{"a":"a","b":["a","a"],"c":{"a":1}}')).toBeUndefined();
    expect(firstRepeatedKey('{"x\\"{,":1, "x\\"{,"  :2}')).toBe('x"{,');
    expect(firstRepeatedKey('{"\\u0061":1,"a":2}')).toBe('a');
    expect(firstRepeatedKey('[{"a":1},{"a":2}]')).toBeUndefined();
    expect(firstRepeatedKey('{"s":"}{\\\\","t":[{"k":1,"k":2}]}')).toBe('k');
  });
});
