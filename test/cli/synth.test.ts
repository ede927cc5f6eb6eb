// The synth command: its work through bench/synth/run.ts, its output through the CLI.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelError, UserError } from '../../bench/errors.js';
import { readGgufHeader } from '../../bench/model/gguf/reader.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { render } from '../../bench/report/print.js';
import { FIXTURES } from '../../bench/synth/fixture-specs.js';
import { checkpointLayout } from '../../bench/synth/layout.js';
import { checkDiskSpace, estimateCheckpointBytes } from '../../bench/synth/out-dir.js';
import { synthReport, type SynthResult } from '../../bench/synth/report.js';
import { runSynth, type SynthIO, type SynthOptions } from '../../bench/synth/run.js';
import { shapeList } from '../../bench/synth/shape-list.js';
import { SHAPES, shapeConfig, shapeNames } from '../../bench/synth/shapes.js';
import { runCli } from '../helpers/cli.js';
import { readSafetensors, tempDir } from '../synth/helpers.js';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fresh parent folder; synth writes into `<parent>/ckpt`, which does not exist yet. */
function outDir(): string {
  const parent = tempDir('synth');
  made.push(parent);
  return join(parent, 'ckpt');
}

function synth(opts: SynthOptions, io: Partial<SynthIO> = {}): { doc: SynthResult; stderr: string } {
  let stderr = '';
  const doc = runSynth(opts, { stderr: (t) => (stderr += t), progress: false, statfs: (d) => statfsSync(d), ...io });
  return { doc, stderr };
}

/** The error runSynth throws (what runCommand would print and exit with). */
function refusal(opts: SynthOptions, io: Partial<SynthIO> = {}): UserError {
  try {
    synth(opts, io);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error(`synth did not refuse ${JSON.stringify(opts)}`);
}

/** The terminal table without its borders: one line per row, cells apart by single spaces. */
const plain = (text: string) => stripVTControlCharacters(text).replace(/[ │]+/g, ' ');

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

describe('synth --shape', () => {
  it('writes a checkpoint that loads with the real shapes, the byte tokenizer and a provenance record', () => {
    const out = outDir();
    const r = synth({ shape: 'smollm2-135m', layers: 1, out });
    expect(r.stderr).toBe('');
    const text = render(synthReport(r.doc), 'table');
    expect(text).toMatch(/^synthetic smollm2-135m \(HuggingFaceTB\/SmolLM2-135M\) → /);
    expect(plain(text)).toMatch(/ layers 1 kept of 30 /);
    expect(plain(text)).toMatch(/ params 31\.9M written \(31,852,224; full model 134\.5M\) /);
    // The embedding (tied: the lm_head too), the final norm, and the layer's 4 attention, 3 MLP and 2 norm tensors.
    expect(plain(text)).toMatch(/ self-check buildLoadPlan loads it: 1 layers, 11 tensors in 1 weight files /);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);

    const config = readJson(join(out, 'config.json'));
    expect(config).toMatchObject({ num_hidden_layers: 1, vocab_size: 49152, hidden_size: 576, torch_dtype: 'bfloat16', bos_token_id: 1, eos_token_id: 2 });
    expect(config.rabbit_bench).toEqual({
      synthetic: true, shape: 'smollm2-135m', hf_repo: 'HuggingFaceTB/SmolLM2-135M', original_num_hidden_layers: 30,
      seed: 0, synth_version: 1, original_bos_token_id: 0, original_eos_token_id: 0,
    });

    const plan = buildLoadPlan(out);
    expect(plan.embed.shape).toEqual([49152, 576]);
    expect(plan.layers[0].k_proj.shape).toEqual([192, 576]);
    expect(plan.embed.dtype).toBe('BF16');

    // Every id the tokenizer can produce is a row of the (real-sized) embedding.
    const tokenizer = readJson(join(out, 'tokenizer.json'));
    const ids = [...Object.values(tokenizer.model.vocab as Record<string, number>), ...tokenizer.added_tokens.map((t: { id: number }) => t.id)];
    expect(Math.max(...ids)).toBeLessThan(config.vocab_size);
  });

  it('--json prints exactly one tagged JSON document and nothing else', async () => {
    const out = outDir();
    const r = await runCli(['synth', '--shape', 'smollm2-135m', '--layers', '1', '--out', out, '--json', '--dtype', 'f16']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]);
    expect(doc).toMatchObject({
      schema: 'rabbit-bench/synth@1', out, shape: 'smollm2-135m', hf_repo: 'HuggingFaceTB/SmolLM2-135M', source_config: null, architecture: 'LlamaForCausalLM',
      dtype: 'float16', seed: 0, shards: 1, layers: { kept: 1, original: 30 },
      params: { written: 31_852_224, full_model: 134_515_008 },
      self_check: { ok: true, layers: 1, weight_files: 1 },
    });
    expect(doc.bytes.tensors).toBe(2 * 31_852_224);
    expect([...doc.files].sort()).toEqual(readdirSync(out).sort());
    expect(doc.time_s).toBeGreaterThan(0);
    expect(readSafetensors(join(out, 'model.safetensors')).tensors.get('model.norm.weight')?.dtype).toBe('F16');
  });

  it('--format md and csv show the report synthReport draws from the JSON document alone', async () => {
    const out = outDir();
    const run = (...print: string[]) => runCli(['synth', '--shape', 'smollm2-135m', '--layers', '1', '--out', out, '--force', ...print]);
    const json = await run('--format', 'json');
    const md = await run('--format', 'md');
    expect([json.status, md.status], md.stderr).toEqual([0, 0]);
    const doc = JSON.parse(json.stdout);
    // Only the time it took differs between two runs.
    const untimed = (s: string) => s.replace(/\| time \| [\d.]+ s \|/, '| time | … |');
    expect(untimed(render(synthReport(doc), 'md'))).toBe(untimed(md.stdout));
    expect(md.stdout).toMatch(/^## rabbit-bench synth\n\nsynthetic smollm2-135m \(HuggingFaceTB\/SmolLM2-135M\) → /);
    expect(md.stdout).toContain('| layers | 1 kept of 30 |');
    const csv = await run('--format', 'csv');
    expect(csv.stdout.split('\n').slice(0, 3)).toEqual(['Checkpoint', 'fact,value', `architecture,"LlamaForCausalLM, bfloat16, seed 0"`]);
    // --format is what stdout shows, as for every command: the checkpoint's format follows --out.
    expect((await run('--format', 'gguf')).stderr).toMatch(/Invalid values:\s+Argument: format, Given: "gguf", Choices: "table", "json", "csv", "md", "html"/);
    expect((await run('--type', 'Q8_0')).stderr).toMatch(/--type is for GGUF files: give --out FILE\.gguf/);
  });

  it('is deterministic for a seed, and the seed changes every weight file', () => {
    const [a, b, c] = [outDir(), outDir(), outDir()];
    synth({ shape: 'smollm2-135m', layers: 1, seed: 5, out: a });
    synth({ shape: 'smollm2-135m', layers: 1, seed: 5, out: b });
    synth({ shape: 'smollm2-135m', layers: 1, seed: 6, out: c });
    for (const f of readdirSync(a)) expect(sha(join(b, f)), f).toBe(sha(join(a, f)));
    expect(sha(join(c, 'model.safetensors'))).not.toBe(sha(join(a, 'model.safetensors')));
    expect(readJson(join(c, 'config.json')).rabbit_bench.seed).toBe(6);
  });

  it('keeps the real 151936-token vocabulary and Qwen2 biases, sharded', () => {
    const out = outDir();
    const { doc } = synth({ shape: 'qwen2.5-0.5b', layers: 2, shards: 2, out });
    expect(doc.files).toContain('model.safetensors.index.json');
    expect(doc.self_check.weight_files).toBe(2);
    const plan = buildLoadPlan(out);
    expect(plan.embed.shape).toEqual([151936, 896]);
    expect(plan.lmHead).toBe(plan.embed);
    expect(plan.layers.map((l) => l.q_bias?.shape)).toEqual([[896], [896]]);
    expect(plan.spec.eosTokenIds).toEqual([2]);
    expect(doc.params.written).toBe(151936 * 896 + 2 * 14_912_384 + 896);
  });

  it('writes a mixture-of-experts shape as safetensors (per-expert tensors) and as GGUF (llama.cpp\'s expert stacks), which load alike', () => {
    const out = outDir();
    synth({ shape: 'qwen3-30b-a3b', layers: 1, out });
    const plan = buildLoadPlan(out);
    expect(plan.spec.moe).toMatchObject({ numExperts: 128, topK: 8, normTopkProb: true, sparseLayers: [0] });
    expect(plan.layers[0].experts).toHaveLength(128);

    const config = join(outDir(), 'config.json');
    mkdirSync(join(config, '..'), { recursive: true });
    writeFileSync(config, JSON.stringify({ ...FIXTURES['qwen3moe-topk-all-f32'].config, torch_dtype: 'float32' }));
    const gguf = `${outDir()}.gguf`;
    const written = synth({ config, type: 'Q8_0', out: gguf }).doc;
    expect(written.files).toEqual([gguf.split('/').at(-1)]);
    // The tensor types the report counts are the file's.
    const inFile: Record<string, number> = {};
    for (const t of readGgufHeader(gguf).tensors) inFile[t.ggmlType.name] = (inFile[t.ggmlType.name] ?? 0) + 1;
    expect(written.tensor_types).toEqual(inFile);
    expect(synthReport(written).tables.map((t) => t.title)).toEqual(['Checkpoint', 'Tensor types']);
    const g = buildLoadPlan(gguf);
    expect(g.spec.moe).toEqual({ numExperts: 4, topK: 4, expertIntermediateSize: 24, sharedExpertIntermediateSize: null, normTopkProb: false, sparseLayers: [0, 1] });
    expect(g.layers[1].experts!.map((e) => [e.gate_proj.dtype, e.gate_proj.shape, e.down_proj.shape])).toEqual(Array(4).fill(['Q8_0', [24, 32], [32, 24]]));
    // The stacked experts lie one after another in their tensor.
    const [a, b] = g.layers[1].experts!;
    expect(b.up_proj.offset - a.up_proj.offset).toBe(a.up_proj.bytes);
  });

  it('shows progress on stderr only when asked (stderr is a TTY)', () => {
    const r = synth({ shape: 'smollm2-135m', layers: 1, out: outDir() }, { progress: true });
    expect(r.doc.shape).toBe('smollm2-135m');
    expect(r.stderr).toMatch(/^synth: writing about [\d.]+ MiB to /);
    expect(r.stderr).toMatch(/synth: wrote model\.safetensors \([\d.]+ MiB, [\d.]+ s\)\n$/);
  });

  it('--list-shapes lists the registry, as JSON or a table', async () => {
    const doc = shapeList();
    expect(doc.schema).toBe('rabbit-bench/synth@1');
    expect(doc.shapes.map((s) => s.name)).toEqual(shapeNames());
    expect(doc.shapes.find((s) => s.name === 'llama-3.1-70b')).toMatchObject({ layers: 80, hidden: 8192, kv_heads: 8, params: 70_553_706_496 });
    const json = await runCli(['synth', '--list-shapes', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(doc);
    const table = await runCli(['synth', '--list-shapes']);
    expect(table.stdout).toBe(render(synthReport(doc), 'table'));
    expect(plain(table.stdout)).toMatch(/ shape repo arch layers hidden heads\/kv head_dim inter vocab tied params /);
    expect(plain(table.stdout)).toMatch(/ llama-3\.1-70b meta-llama\/Llama-3\.1-70B Llama 80 8192 64\/8 128 28672 128256 no 70\.55B /);
  });
});

describe('synth --config', () => {
  const tiny = {
    architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 128, num_hidden_layers: 4, num_attention_heads: 4,
    num_key_value_heads: 2, vocab_size: 512, max_position_embeddings: 256, rms_norm_eps: 1e-5, tie_word_embeddings: false,
  };

  function configFile(config: Record<string, unknown>): string {
    const dir = tempDir('synthcfg');
    made.push(dir);
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  it('takes any supported Hugging Face config; no dtype means float32, as transformers reads it', () => {
    const file = configFile(tiny);
    const out = outDir();
    const { doc } = synth({ config: file, layers: 3, out });
    expect(doc).toMatchObject({ shape: null, hf_repo: null, source_config: file, dtype: 'float32', layers: { kept: 3, original: 4 } });
    expect(readJson(join(out, 'config.json')).rabbit_bench).toMatchObject({ shape: null, source_config: file, original_num_hidden_layers: 4 });
    expect(buildLoadPlan(out).layers).toHaveLength(3);
  });

  it("surfaces the loader's reasons for refusing a config, before writing anything", () => {
    const out = outDir();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...tiny, architectures: ['GPT2LMHeadModel'] }, /architecture "GPT2LMHeadModel" is not supported \(supported: LlamaForCausalLM/],
      [{ ...tiny, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /RoPE scaling type 'yarn' is not supported/],
      [{ ...tiny, hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
      [{ ...tiny, vocab_size: 100 }, /vocab_size 100 is smaller than the 303 tokens of the byte-level tokenizer/],
      [{ ...tiny, torch_dtype: 'float8_e4m3fn' }, /torch_dtype "float8_e4m3fn" is not supported/],
    ];
    for (const [config, message] of cases) {
      const file = configFile(config);
      const err = refusal({ config: file, out });
      expect(err.message).toMatch(message);
      if (err instanceof ModelError) expect(err.message.startsWith(file)).toBe(true);
    }
    expect(existsSync(out)).toBe(false);
  });
});

describe('synth refuses', () => {
  it('bad usage with exit code 2', () => {
    const out = outDir();
    const cases: [SynthOptions, RegExp][] = [
      [{ out }, /exactly one of --shape NAME or --config/],
      [{ shape: 'smollm2-135m', config: 'x.json', out }, /exactly one of/],
      [{ shape: 'smollm2-135m' }, /--out DIR is required/],
      [{ shape: 'smollm2-135m', layers: 2, shards: 3, out }, /--shards must be an integer in \[1, 2\]/],
      [{ shape: 'smollm2-135m', dtype: 'fp8', out }, /--dtype must be one of f32, bf16, f16/],
      [{ shape: 'smollm2-135m', seed: -1, out }, /--seed must be an integer in \[0, 2\^32\)/],
    ];
    for (const [opts, message] of cases) {
      const err = refusal(opts);
      expect(err.message).toMatch(message);
      expect(err.exitCode).toBe(2);
    }
    expect(existsSync(out)).toBe(false);
  });

  it('an unknown shape, naming the known ones', () => {
    const err = refusal({ shape: 'gpt-2', out: outDir() });
    expect(err.message).toBe(`unknown shape 'gpt-2'; known shapes: ${shapeNames().join(', ')}`);
    expect(err.exitCode).toBe(1);
  });

  it('a non-empty --out without --force, and with --force anything it did not write', () => {
    const out = outDir();
    synth({ shape: 'smollm2-135m', layers: 1, out });
    expect((refusal({ shape: 'smollm2-135m', layers: 1, out })).message).toMatch(/is not empty; pass --force/);

    // --force replaces its own checkpoint.
    const { doc } = synth({ shape: 'smollm2-135m', layers: 1, seed: 9, out, force: true });
    expect(doc.seed).toBe(9);
    expect(readJson(join(out, 'config.json')).rabbit_bench.seed).toBe(9);

    // ... but not when something else lies beside it,
    writeFileSync(join(out, 'notes.txt'), 'mine');
    expect((refusal({ shape: 'smollm2-135m', layers: 1, out, force: true })).message).toMatch(/also holds notes\.txt/);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);

    // ... nor a folder whose config.json synth did not write.
    const theirs = outDir();
    mkdirSync(theirs);
    writeFileSync(join(theirs, 'config.json'), JSON.stringify(SHAPES['smollm2-135m'].config));
    writeFileSync(join(theirs, 'model.safetensors'), 'real weights');
    expect((refusal({ shape: 'smollm2-135m', layers: 1, out: theirs, force: true })).message).toMatch(/has no "rabbit_bench" record/);
    expect(readFileSync(join(theirs, 'model.safetensors'), 'utf8')).toBe('real weights');
  });

  it('a checkpoint that does not fit on the disk, saying how much is needed and free', () => {
    const out = outDir();
    const err = refusal({ shape: 'llama-3.1-70b', out }, { statfs: () => ({ bavail: 1024, bsize: 4096 }) });
    expect(err.message).toMatch(/^not enough disk space: the checkpoint needs about 131\.\d\d GiB \(\d+ bytes\), but .* has 4\.00 MiB \(4194304 bytes\) free/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('disk space', () => {
  const space = (bytes: number) => () => ({ bavail: BigInt(bytes / 4096), bsize: 4096n });

  it('estimates the bytes a checkpoint takes, slightly over what is written', () => {
    const layout = checkpointLayout(shapeConfig('llama-3.1-70b'));
    const data = 2 * SHAPES['llama-3.1-70b'].params;
    const estimate = estimateCheckpointBytes(layout, 'bfloat16', 1);
    expect(estimate).toBeGreaterThan(data);
    expect(estimate - data).toBeLessThan(2 << 20);
    // Twice the data, give or take the header's spelling of the dtype and offsets.
    expect(Math.abs(estimateCheckpointBytes(layout, 'float32', 1) - estimate - data)).toBeLessThan(1 << 16);
  });

  it('compares with the free space of the nearest existing folder, counting what --force frees', () => {
    const parent = tempDir('space');
    made.push(parent);
    const seen: string[] = [];
    const statfs = (d: string) => {
      seen.push(d);
      return space(8192)();
    };
    expect(() => checkDiskSpace(join(parent, 'a', 'b'), 8192, { statfs })).not.toThrow();
    expect(seen).toEqual([parent]);
    expect(() => checkDiskSpace(parent, 8193, { statfs })).toThrow(/needs about 8\.00 KiB \(8193 bytes\), but .* has 8\.00 KiB \(8192 bytes\) free/);
    expect(() => checkDiskSpace(parent, 8193, { statfs, reclaimable: 1 })).not.toThrow();
    expect(() => checkDiskSpace(parent, 10_000, { statfs, reclaimable: 100 })).toThrow(/counting 100 B that --force would delete/);
  });
});
