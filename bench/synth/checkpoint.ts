// Writes a Hugging Face style checkpoint folder with seeded random weights. Tensors are generated
// and written chunk by chunk, so the same code can write 7B/70B-shaped layers in bounded memory.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { FLOAT_DTYPE_OF } from '../model/dtype.js';
import type { ModelDtype } from '../model/types.js';
import { f32ArrayToBf16, f32ArrayToF16 } from './half.js';
import { checkpointLayout, type TensorPlan } from './layout.js';
import { Rng } from './prng.js';
import { type TensorSource, writeSafetensors } from './safetensors.js';
import { BOS_ID, BYTE_LEVEL_VOCAB_SIZE, EOS_ID, byteLevelTokenizer } from './tokenizer.js';

/** Bump whenever the bytes written for the same options change (fixtures are rebuilt on it). */
export const SYNTH_VERSION = 1;

export interface CheckpointOptions {
  /** config.json as Hugging Face writes it, less the dtype key, which is added from `dtype`. */
  config: Record<string, unknown>;
  dtype: ModelDtype;
  /** 1 writes model.safetensors; more splits whole layers over model-0000k-of-0000N files. */
  shards: number;
  /** Integer in [0, 2^32). Each tensor draws from its own stream keyed by (seed, name). */
  seed: number;
  /** transformers ≥ 5 writes `dtype`; older versions and most Hub checkpoints `torch_dtype`. */
  dtypeKey?: 'torch_dtype' | 'dtype';
  /** Defaults to the bos/eos ids of the config. */
  generationConfig?: Record<string, unknown>;
  tokenizer?: 'byte-level';
  /** Called after each file is complete, e.g. to show progress on a multi-GiB write. */
  onFile?: (name: string) => void;
}

export interface WrittenCheckpoint {
  dir: string;
  /** Every file written, by name inside `dir`. */
  files: string[];
  /** The .safetensors files, in order. */
  weightFiles: string[];
  tensorCount: number;
  /** Bytes of tensor data over all shards (the index's metadata.total_size). */
  totalSize: number;
}

/** Elements generated per write: 4 MiB of float32 scratch whatever the tensor size. */
const CHUNK = 1 << 20;

/** Writes the checkpoint into `dir`, which must be absent or empty so no stale shard survives. */
export function writeCheckpoint(dir: string, opts: CheckpointOptions): WrittenCheckpoint {
  // Typed-array views are written as they lie in memory; safetensors is little-endian.
  if (endianness() !== 'LE') throw new Error('writeCheckpoint needs a little-endian machine');
  const layout = checkpointLayout(opts.config);
  const numLayers = layout.layers.length;
  if (!Number.isInteger(opts.shards) || opts.shards < 1 || opts.shards > numLayers) {
    throw new Error(`shards must be an integer in [1, ${numLayers}] (whole layers per shard), got ${opts.shards}`);
  }
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) throw new Error(`${dir} is not empty`);

  const dtype = FLOAT_DTYPE_OF[opts.dtype];
  const files: string[] = [];
  const writeJson = (name: string, value: unknown): void => {
    writeFileSync(join(dir, name), JSON.stringify(value, null, 2) + '\n');
    files.push(name);
    opts.onFile?.(name);
  };

  const { torch_dtype: _t, dtype: _d, ...config } = opts.config;
  writeJson('config.json', { ...config, [opts.dtypeKey ?? 'torch_dtype']: opts.dtype });
  writeJson('generation_config.json', opts.generationConfig ?? pick(opts.config, ['bos_token_id', 'eos_token_id']));
  if (opts.tokenizer === 'byte-level') {
    checkTokenizerFits(opts.config);
    const { tokenizer, tokenizerConfig } = byteLevelTokenizer(int(opts.config.max_position_embeddings, 'max_position_embeddings'));
    writeJson('tokenizer.json', tokenizer);
    writeJson('tokenizer_config.json', tokenizerConfig);
  }

  const scratch = new Float32Array(CHUNK);
  const half = new Uint16Array(CHUNK);
  const source = (plan: TensorPlan): TensorSource => ({
    name: plan.name,
    dtype,
    shape: plan.shape,
    produce(write) {
      const rng = new Rng(opts.seed, plan.name);
      const n = plan.shape.reduce((a, b) => a * b, 1);
      for (let done = 0; done < n; done += CHUNK) {
        const vals = scratch.subarray(0, Math.min(CHUNK, n - done));
        rng.fillNormal(vals, plan.mean, plan.std);
        if (dtype === 'F32') {
          write(new Uint8Array(vals.buffer, 0, vals.byteLength));
        } else {
          const out = half.subarray(0, vals.length);
          (dtype === 'BF16' ? f32ArrayToBf16 : f32ArrayToF16)(vals, out);
          write(new Uint8Array(out.buffer, 0, out.byteLength));
        }
      }
    },
  });

  // Contiguous runs of layers per shard; the embedding rides in the first, norm and lm_head in the last.
  const shards: TensorPlan[][] = [];
  for (let s = 0; s < opts.shards; s++) {
    const from = Math.floor((s * numLayers) / opts.shards);
    const to = Math.floor(((s + 1) * numLayers) / opts.shards);
    shards.push([
      ...(s === 0 ? layout.head : []),
      ...layout.layers.slice(from, to).flat(),
      ...(s === opts.shards - 1 ? layout.tail : []),
    ]);
  }
  const pad = (k: number): string => String(k).padStart(5, '0');
  const weightFiles = shards.map((_, s) =>
    opts.shards === 1 ? 'model.safetensors' : `model-${pad(s + 1)}-of-${pad(opts.shards)}.safetensors`,
  );

  let totalSize = 0;
  const weightMap: Record<string, string> = {};
  shards.forEach((plans, s) => {
    // transformers refuses safetensors files without format metadata it knows.
    totalSize += writeSafetensors(join(dir, weightFiles[s]), plans.map(source), { format: 'pt' });
    files.push(weightFiles[s]);
    opts.onFile?.(weightFiles[s]);
    for (const p of plans) weightMap[p.name] = weightFiles[s];
  });
  if (opts.shards > 1) {
    const sorted = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
    writeJson('model.safetensors.index.json', { metadata: { total_size: totalSize }, weight_map: sorted });
  }
  return { dir, files, weightFiles, tensorCount: Object.keys(weightMap).length, totalSize };
}

function checkTokenizerFits(config: Record<string, unknown>): void {
  const vocab = int(config.vocab_size, 'vocab_size');
  if (vocab < BYTE_LEVEL_VOCAB_SIZE) {
    throw new Error(`byte-level tokenizer has ${BYTE_LEVEL_VOCAB_SIZE} tokens; vocab_size ${vocab} is too small`);
  }
  const eos = config.eos_token_id;
  const eosOk = eos == null || eos === EOS_ID || (Array.isArray(eos) && eos.includes(EOS_ID));
  if ((config.bos_token_id ?? BOS_ID) !== BOS_ID || !eosOk) {
    throw new Error(`byte-level tokenizer has <s> = ${BOS_ID}, </s> = ${EOS_ID}; the config disagrees`);
  }
}

function int(v: unknown, key: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`config.${key} must be a positive integer`);
  return v;
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));
}
