// `rabbit-bench synth`'s work: a random-weight checkpoint with a real model's shapes (optionally
// fewer layers) written to --out, as a Hugging Face folder or one GGUF file, then loaded back.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { parseModelConfig } from '../model/config.js';
import { DTYPE_FLAGS, FLOAT_DTYPE_OF } from '../model/dtype.js';
import { GGUF_PROVENANCE_KEY } from '../model/gguf/model.js';
import { isGgufFile, readGgufHeader } from '../model/gguf/reader.js';
import { readJsonObject } from '../model/json.js';
import { buildLoadPlan } from '../model/plan.js';
import { layerTensorRefs, type LoadPlan, type ModelDtype, type TensorRef } from '../model/types.js';
import { parseMix } from '../quantize/quantize.js';
import { writeCheckpoint } from './checkpoint.js';
import { estimateGgufBytes, writeSyntheticGguf } from './gguf.js';
import { checkpointLayout, type CheckpointLayout } from './layout.js';
import { checkDiskSpace, clearOutDir, estimateCheckpointBytes, inspectOutDir, type FsSpace } from './out-dir.js';
import { SYNTH_SCHEMA, type SynthResult } from './report.js';
import { SHAPES, countParams, getShape, synthConfig, withByteLevelTokenIds, type HfConfig } from './shapes.js';
import { formatBytes } from './sizes.js';
import { BYTE_LEVEL_VOCAB_SIZE } from './tokenizer.js';

export interface SynthOptions {
  shape?: string;
  config?: string;
  layers?: number;
  dtype?: string;
  shards?: number;
  seed?: number;
  /** A folder for a Hugging Face checkpoint; a path ending in .gguf for one GGUF file of the --type mix. */
  out?: string;
  force?: boolean;
  type?: string;
}

/** Where progress goes and how free space is read; tests swap these. */
export interface SynthIO {
  stderr(text: string): void;
  /** Per-file progress lines on stderr. */
  progress: boolean;
  statfs(dir: string): FsSpace;
}

const defaultIO = (): SynthIO => ({
  stderr: (t) => process.stderr.write(t),
  progress: Boolean(process.stderr.isTTY),
  statfs: (dir) => fs.statfsSync(dir),
});

/** Usage errors exit 2, as yargs' own do. */
const USAGE = 2;

/** Writes the checkpoint `opts` describe and loads it back; everything that can be refused is refused before --out is touched. */
export function runSynth(opts: SynthOptions, io: SynthIO = defaultIO()): SynthResult {
  const started = performance.now();
  const job = prepare(opts);
  const out = path.resolve(opts.out!);
  if (out.endsWith('.gguf')) return synthGguf(opts, job, out, io, started);
  if (opts.type !== undefined) throw new UserError('--type is for GGUF files: give --out FILE.gguf', USAGE);
  const needed = estimateCheckpointBytes(job.layout, job.dtype, job.shards);
  const outDir = inspectOutDir(out, opts.force ?? false);
  checkDiskSpace(out, needed, { reclaimable: outDir.reclaimable, statfs: io.statfs });
  clearOutDir(out, outDir.remove);

  if (io.progress) io.stderr(`synth: writing about ${formatBytes(needed)} to ${out}\n`);
  const written = writeCheckpoint(out, {
    config: job.config,
    dtype: job.dtype,
    shards: job.shards,
    seed: job.seed,
    dtypeKey: job.dtypeKey,
    tokenizer: 'byte-level',
    onFile: io.progress
      ? (name) => io.stderr(`synth: wrote ${name} (${formatBytes(fileSize(out, name))}, ${seconds(started)} s)\n`)
      : undefined,
  });
  const onDisk = written.files.reduce((sum, f) => sum + fileSize(out, f), 0);
  return resultOf(job, out, started, {
    dtype: job.dtype,
    shards: job.shards,
    bytes: { tensors: written.totalSize, on_disk: onDisk },
    files: written.files,
  });
}

/** What both formats report: the job, the files written, and the self-check of loading them back. */
function resultOf(job: Job, out: string, started: number, written: Pick<SynthResult, 'dtype' | 'shards' | 'bytes' | 'files' | 'tensor_types'>): SynthResult {
  const check = selfCheck(out, job);
  return {
    schema: SYNTH_SCHEMA,
    out,
    shape: job.shape,
    hf_repo: job.hfRepo,
    source_config: job.sourceConfig,
    architecture: check.plan.spec.architecture,
    seed: job.seed,
    layers: { kept: job.layers, original: job.originalLayers },
    params: { written: job.params, full_model: job.fullParams },
    ...written,
    time_s: Number(seconds(started)),
    self_check: { ok: true, layers: check.plan.layers.length, weight_files: check.plan.files.length, tensors: check.tensors },
  };
}

/** --out FILE.gguf: one file, the job's weights in the --type mix. */
function synthGguf(opts: SynthOptions, job: Job, out: string, io: SynthIO, started: number): SynthResult {
  if (opts.shards !== undefined && opts.shards !== 1) throw new UserError('--shards is for safetensors folders: a GGUF file is one file', USAGE);
  const mix = parseMix(opts.type ?? FLOAT_DTYPE_OF[job.dtype]);
  const existing = fs.statSync(out, { throwIfNoEntry: false });
  if (existing) {
    if (!opts.force) throw new UserError(`--out ${out} exists; pass --force to replace a file that rabbit-bench synth wrote`);
    if (!existing.isFile() || !isGgufFile(out) || !readGgufHeader(out).metadata.has(GGUF_PROVENANCE_KEY)) {
      throw new UserError(`--force refuses to replace ${out}: it is not a GGUF file that rabbit-bench synth wrote`);
    }
  }
  const needed = estimateGgufBytes(job.config, mix);
  checkDiskSpace(path.dirname(out), needed, { reclaimable: existing?.size ?? 0, statfs: io.statfs });
  if (io.progress) io.stderr(`synth: writing about ${formatBytes(needed)} to ${out}\n`);
  const written = writeSyntheticGguf(out, { config: job.config, mix, seed: job.seed, name: job.shape ?? path.basename(out, '.gguf') });
  return resultOf(job, out, started, {
    dtype: mix,
    shards: 1,
    bytes: { tensors: written.tensors.reduce((a, t) => a + t.bytes, 0), on_disk: written.bytes },
    files: [path.basename(out)],
    tensor_types: Object.fromEntries([...new Set(written.tensors.map((t) => t.dtype))].map((d) => [d, written.tensors.filter((t) => t.dtype === d).length])),
  });
}

interface Job {
  config: HfConfig;
  shape: string | null;
  hfRepo: string | null;
  sourceConfig: string | null;
  layers: number;
  originalLayers: number;
  dtype: ModelDtype;
  dtypeKey: 'torch_dtype' | 'dtype';
  shards: number;
  seed: number;
  params: number;
  fullParams: number;
  layout: CheckpointLayout;
}

/** Everything that can be refused is refused here, before anything touches --out. */
function prepare(opts: SynthOptions): Job {
  if ((opts.shape === undefined) === (opts.config === undefined)) {
    throw new UserError('give exactly one of --shape NAME or --config config.json', USAGE);
  }
  if (!opts.out) throw new UserError('--out DIR is required', USAGE);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new UserError(`--seed must be an integer in [0, 2^32), got ${seed}`, USAGE);
  }

  let base: Readonly<HfConfig>;
  let label: string;
  let record: { shape: string | null; hfRepo?: string; sourceConfig?: string };
  if (opts.shape !== undefined) {
    const info = getShape(opts.shape);
    base = info.config;
    label = `shape ${opts.shape}`;
    record = { shape: opts.shape, hfRepo: info.hfRepo };
  } else {
    const file = path.resolve(opts.config!);
    base = readJsonObject(file);
    label = file;
    record = { shape: null, sourceConfig: file };
    // The loader's own rules, with its messages: a config it refuses is refused before writing.
    parseModelConfig(base, undefined, file);
  }
  const config = withByteLevelTokenIds(synthConfig(base, { ...record, layers: opts.layers, seed }));
  const layers = config.num_hidden_layers as number;
  const shards = opts.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > layers) {
    throw new UserError(`--shards must be an integer in [1, ${layers}] (whole layers per shard), got ${shards}`, USAGE);
  }
  const vocab = config.vocab_size;
  if (typeof vocab === 'number' && vocab < BYTE_LEVEL_VOCAB_SIZE) {
    throw new UserError(`${label}: vocab_size ${vocab} is smaller than the ${BYTE_LEVEL_VOCAB_SIZE} tokens of the byte-level tokenizer`);
  }
  let layout: CheckpointLayout;
  try {
    layout = checkpointLayout(config);
  } catch (err) {
    throw new UserError(`${label}: ${(err as Error).message}`);
  }
  return {
    config,
    shape: record.shape,
    hfRepo: record.hfRepo ?? null,
    sourceConfig: record.sourceConfig ?? null,
    layers,
    originalLayers: base.num_hidden_layers as number,
    dtype: resolveDtype(opts.dtype, base),
    dtypeKey: base.dtype !== undefined && base.dtype !== null ? 'dtype' : 'torch_dtype',
    shards,
    seed,
    params: countParams(config),
    fullParams: opts.shape !== undefined ? SHAPES[opts.shape].params : countParams(base as HfConfig),
    layout,
  };
}

/** --dtype, else what the config says (transformers reads an absent dtype as float32). */
function resolveDtype(flag: string | undefined, config: Readonly<HfConfig>): ModelDtype {
  if (flag !== undefined) {
    if (!Object.hasOwn(DTYPE_FLAGS, flag)) throw new UserError(`--dtype must be one of ${Object.keys(DTYPE_FLAGS).join(', ')}, got ${flag}`, USAGE);
    return DTYPE_FLAGS[flag as keyof typeof DTYPE_FLAGS];
  }
  const key = config.dtype !== undefined && config.dtype !== null ? 'dtype' : 'torch_dtype';
  const value = config[key];
  if (value === undefined || value === null) return 'float32';
  if (value === 'float32' || value === 'bfloat16' || value === 'float16') return value;
  throw new UserError(`config ${key} ${JSON.stringify(value)} is not a dtype synth writes; pass --dtype f32, bf16 or f16`, USAGE);
}

/** Loads the checkpoint back as generate would; a failure is a bug here, not the user's doing. */
function selfCheck(out: string, job: Job): { plan: LoadPlan; tensors: number } {
  const bug = (why: string): never => {
    throw new Error(`self-check of ${out} failed: ${why}; this is a bug in rabbit-bench synth`);
  };
  let plan: LoadPlan;
  try {
    plan = buildLoadPlan(out);
  } catch (err) {
    return bug(`the load plan refuses it (${(err as Error).message})`);
  }
  if (plan.layers.length !== job.layers) bug(`${plan.layers.length} layers load, ${job.layers} were written`);
  if (plan.unusedTensors.length > 0) bug(`tensors the engine does not use: ${plan.unusedTensors.join(', ')}`);
  const refs = new Set<TensorRef>([plan.embed, plan.finalNorm, plan.lmHead, ...plan.layers.flatMap((l) => layerTensorRefs(l))]);
  const elements = [...refs].reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
  if (elements !== job.params) bug(`the plan holds ${elements} parameters, countParams says ${job.params}`);
  return { plan, tensors: refs.size };
}

function fileSize(dir: string, name: string): number {
  return fs.statSync(path.join(dir, name)).size;
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(2);
}
