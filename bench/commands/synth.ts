// `rabbit-bench synth`: writes a random-weight checkpoint with a real model's shapes (optionally
// fewer layers), so the engine can be timed on 7B/70B-shaped layers without downloading them.
import fs from 'node:fs';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { parseModelConfig } from '../model/config.js';
import { isJsonObject, readJsonObject } from '../model/json.js';
import { buildLoadPlan } from '../model/plan.js';
import { FLOAT_DTYPE_BYTES, FLOAT_DTYPE_OF } from '../model/dtype.js';
import { layerTensorRefs, type LoadPlan, type ModelDtype, type TensorRef } from '../model/types.js';
import { writeCheckpoint } from '../synth/checkpoint.js';
import { checkpointLayout, type CheckpointLayout } from '../synth/layout.js';
import { safetensorsHeader } from '../synth/safetensors.js';
import {
  PROVENANCE_KEY,
  SHAPES,
  countParams,
  getShape,
  shapeNames,
  synthConfig,
  withByteLevelTokenIds,
  type HfConfig,
} from '../synth/shapes.js';
import { BYTE_LEVEL_VOCAB_SIZE } from '../synth/tokenizer.js';
import { estimateGgufBytes, writeSyntheticGguf } from '../synth/gguf.js';
import { GGUF_PROVENANCE_KEY } from '../model/gguf/model.js';
import { isGgufFile, readGgufHeader } from '../model/gguf/reader.js';
import { QUANT_MIXES } from '../quantize/mix.js';
import { parseMix } from '../quantize/quantize.js';
import { runCommand } from './run.js';

export interface SynthOptions {
  shape?: string;
  config?: string;
  layers?: number;
  dtype?: string;
  shards?: number;
  seed?: number;
  out?: string;
  force?: boolean;
  json?: boolean;
  listShapes?: boolean;
  /** 'gguf' writes one .gguf file (--out FILE.gguf) of the --type mix instead of a folder. */
  format?: string;
  type?: string;
}

export interface FsSpace {
  bavail: number | bigint;
  bsize: number | bigint;
}

/** Where output goes and how free space is read; tests swap these. */
export interface SynthIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Per-file progress lines on stderr. */
  progress: boolean;
  statfs(dir: string): FsSpace;
}

const defaultIO = (): SynthIO => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  progress: Boolean(process.stderr.isTTY),
  statfs: (dir) => fs.statfsSync(dir),
});

const DTYPE_FLAGS: Readonly<Record<string, ModelDtype>> = { f32: 'float32', bf16: 'bfloat16', f16: 'float16' };
/** Usage errors exit 2, as yargs' own do. */
const USAGE = 2;

function builder(y: Argv) {
  return y
    .option('shape', { type: 'string', describe: `take the shape of a real model: ${shapeNames().join(', ')}` })
    .option('config', { type: 'string', describe: 'take the shape from this Hugging Face config.json instead' })
    .option('layers', { type: 'number', describe: 'keep only the first N decoder layers (default: all of them)' })
    .option('dtype', { type: 'string', choices: Object.keys(DTYPE_FLAGS), describe: "weight dtype (default: the config's torch_dtype)" })
    .option('shards', { type: 'number', default: 1, describe: 'split the layers over N safetensors files (N ≤ layers)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the random weights, an integer in [0, 2^32)' })
    .option('out', { type: 'string', describe: 'folder to write; must be absent or empty' })
    .option('force', { type: 'boolean', default: false, describe: 'replace a checkpoint that synth wrote to --out before' })
    .option('json', { type: 'boolean', default: false, describe: 'print exactly one JSON document on stdout' })
    .option('list-shapes', { type: 'boolean', default: false, describe: 'list the known shapes and exit' })
    .option('format', { choices: ['safetensors', 'gguf'] as const, default: 'safetensors' as const, describe: 'a Hugging Face folder, or one GGUF file (--out FILE.gguf)' })
    .option('type', { type: 'string', describe: `GGUF type mix (--format gguf): ${QUANT_MIXES.join(', ')} (default: the --dtype)` })
    .conflicts('shape', 'config');
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

/** The command's body; returns the exit code. Exported so tests can run it without a CLI. */
export async function runSynth(opts: SynthOptions, io: SynthIO = defaultIO()): Promise<number> {
  if (opts.listShapes) {
    listShapes(opts.json ?? false, io);
    return 0;
  }
  const started = performance.now();
  const job = prepare(opts);
  const out = path.resolve(opts.out!);
  if (opts.format === 'gguf') return synthGguf(opts, job, out, io, started);
  if (opts.type !== undefined) throw new UserError('--type is for --format gguf', USAGE);
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
  return printReport(opts, io, reportOf(job, out, started, {
    dtype: job.dtype,
    shards: job.shards,
    bytes: { tensors: written.totalSize, on_disk: onDisk },
    files: written.files,
  }));
}

/** What both formats report: the job, the files written, and the self-check of loading them back. */
function reportOf(job: Job, out: string, started: number, written: Pick<Report, 'dtype' | 'shards' | 'bytes' | 'files'> & Record<string, unknown>) {
  const check = selfCheck(out, job);
  return {
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

function printReport(opts: SynthOptions, io: SynthIO, report: Report): number {
  if (opts.json) io.stdout(`${JSON.stringify(report)}\n`);
  else io.stdout(summaryText(report));
  return 0;
}

/** --format gguf: one file, the job's weights in the --type mix. */
function synthGguf(opts: SynthOptions, job: Job, out: string, io: SynthIO, started: number): number {
  if (!out.endsWith('.gguf')) throw new UserError(`--format gguf writes one file: --out must end in .gguf, not ${opts.out}`, USAGE);
  if (opts.shards !== undefined && opts.shards !== 1) throw new UserError('--shards is for --format safetensors', USAGE);
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
  return printReport(opts, io, reportOf(job, out, started, {
    dtype: mix,
    shards: 1,
    bytes: { tensors: written.tensors.reduce((a, t) => a + t.bytes, 0), on_disk: written.bytes },
    files: [path.basename(out)],
    tensor_types: Object.fromEntries([...new Set(written.tensors.map((t) => t.dtype))].map((d) => [d, written.tensors.filter((t) => t.dtype === d).length])),
  }));
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
    if (!Object.hasOwn(DTYPE_FLAGS, flag)) throw new UserError(`--dtype must be one of f32, bf16, f16, got ${flag}`, USAGE);
    return DTYPE_FLAGS[flag];
  }
  const key = config.dtype !== undefined && config.dtype !== null ? 'dtype' : 'torch_dtype';
  const value = config[key];
  if (value === undefined || value === null) return 'float32';
  if (value === 'float32' || value === 'bfloat16' || value === 'float16') return value;
  throw new UserError(`config ${key} ${JSON.stringify(value)} is not a dtype synth writes; pass --dtype f32, bf16 or f16`, USAGE);
}

/**
 * Bytes the folder will take: exact tensor data and header, plus room for the JSON files (the
 * index grows with the tensor count, the tokenizer is a fixed few KiB) and per-shard headers.
 */
export function estimateCheckpointBytes(layout: CheckpointLayout, dtype: ModelDtype, shards: number): number {
  const st = FLOAT_DTYPE_OF[dtype];
  const tensors = [...layout.head, ...layout.layers.flat(), ...layout.tail].map((t) => ({ name: t.name, dtype: st, shape: t.shape }));
  const data = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * FLOAT_DTYPE_BYTES[st], 0);
  const header = safetensorsHeader(tensors, { format: 'pt' }).length;
  return data + header + shards * 4096 + (1 << 20) + 128 * tensors.length;
}

/** Refuses to start a write that cannot finish: a half-written 70B checkpoint is worse than none. */
export function checkDiskSpace(
  dir: string,
  needed: number,
  opts: { reclaimable?: number; statfs?: (dir: string) => FsSpace } = {},
): void {
  // --out may not exist yet; the file system it will live on is that of its nearest ancestor.
  let probe = path.resolve(dir);
  while (!fs.existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  const space = (opts.statfs ?? fs.statfsSync)(probe);
  const free = Number(space.bavail) * Number(space.bsize) + (opts.reclaimable ?? 0);
  if (needed > free) {
    const reclaim = opts.reclaimable ? `, counting ${formatBytes(opts.reclaimable)} that --force would delete` : '';
    throw new UserError(
      `not enough disk space: the checkpoint needs about ${formatBytes(needed)} (${needed} bytes), ` +
        `but ${probe} has ${formatBytes(free)} (${free} bytes) free${reclaim}; ` +
        'try fewer --layers, a 2-byte --dtype, or another --out',
    );
  }
}

/** Files synth writes; --force deletes nothing else. */
const SYNTH_FILE = /^(?:config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|model\.safetensors|model\.safetensors\.index\.json|model-\d{5}-of-\d{5}\.safetensors)$/;

/**
 * What must go before writing to `out`: nothing when absent or empty; with --force, the files of a
 * checkpoint synth wrote (config.json carries the provenance key and nothing foreign lies beside
 * it). Anything else is refused, so a typo in --out cannot delete someone's model.
 */
export function inspectOutDir(out: string, force: boolean): { remove: string[]; reclaimable: number } {
  const stat = fs.statSync(out, { throwIfNoEntry: false });
  if (!stat) return { remove: [], reclaimable: 0 };
  if (!stat.isDirectory()) throw new UserError(`--out ${out} exists and is not a folder`);
  const entries = fs.readdirSync(out).sort();
  if (entries.length === 0) return { remove: [], reclaimable: 0 };
  if (!force) {
    throw new UserError(`--out ${out} is not empty; pass --force to replace a checkpoint that rabbit-bench synth wrote there`);
  }
  if (!writtenBySynth(out)) {
    throw new UserError(
      `--force refuses to clear ${out}: its config.json has no "${PROVENANCE_KEY}" record, so rabbit-bench synth did not write it`,
    );
  }
  const stats = entries.map((name) => ({ name, stat: fs.lstatSync(path.join(out, name)) }));
  const foreign = stats.filter(({ name, stat }) => !SYNTH_FILE.test(name) || !stat.isFile()).map(({ name }) => name);
  if (foreign.length > 0) {
    throw new UserError(`--force refuses to clear ${out}: it also holds ${foreign.join(', ')}, which rabbit-bench synth does not write`);
  }
  // config.json goes last: if clearing stops half-way the folder still says whose it is.
  const remove = [...entries.filter((n) => n !== 'config.json'), 'config.json'];
  return { remove, reclaimable: stats.reduce((sum, { stat }) => sum + stat.size, 0) };
}

function writtenBySynth(dir: string): boolean {
  try {
    const record = readJsonObject(path.join(dir, 'config.json'))[PROVENANCE_KEY];
    return isJsonObject(record) && record.synthetic === true;
  } catch {
    return false;
  }
}

function clearOutDir(out: string, names: string[]): void {
  for (const name of names) fs.unlinkSync(path.join(out, name));
}

/** Loads the folder back as generate would; a failure is a bug here, not the user's doing. */
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

function listShapes(json: boolean, io: SynthIO): void {
  const rows = Object.entries(SHAPES).map(([name, s]) => {
    const c = s.config;
    const spec = parseModelConfig(c, undefined, name).spec;
    return {
      name,
      hf_repo: s.hfRepo,
      architecture: spec.architecture,
      layers: spec.numLayers,
      hidden: spec.hiddenSize,
      heads: spec.numHeads,
      kv_heads: spec.numKvHeads,
      head_dim: spec.headDim,
      intermediate: spec.intermediateSize,
      vocab: spec.vocabSize,
      tied: spec.tieWordEmbeddings,
      dtype: spec.dtype,
      params: s.params,
    };
  });
  if (json) {
    io.stdout(`${JSON.stringify({ shapes: rows })}\n`);
    return;
  }
  const table = [
    ['shape', 'repo', 'arch', 'layers', 'hidden', 'heads/kv', 'head_dim', 'inter', 'vocab', 'tied', 'params'],
    ...rows.map((r) => [
      r.name, r.hf_repo, r.architecture.replace('ForCausalLM', ''), String(r.layers), String(r.hidden),
      `${r.heads}/${r.kv_heads}`, String(r.head_dim), String(r.intermediate), String(r.vocab), r.tied ? 'yes' : 'no',
      formatCount(r.params),
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  io.stdout(table.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n');
}

type Report = {
  out: string;
  shape: string | null;
  hf_repo: string | null;
  source_config: string | null;
  architecture: string;
  dtype: string;
  seed: number;
  shards: number;
  layers: { kept: number; original: number };
  params: { written: number; full_model: number };
  bytes: { tensors: number; on_disk: number };
  files: string[];
  time_s: number;
};

function summaryText(r: Report): string {
  const source = r.shape !== null ? `${r.shape} (${r.hf_repo})` : r.source_config;
  const weightFiles = r.files.filter((f) => f.endsWith('.safetensors') || f.endsWith('.gguf')).length;
  return [
    `synthetic ${source} → ${r.out}`,
    `  architecture  ${r.architecture}, ${r.dtype}, seed ${r.seed}`,
    `  layers        ${r.layers.kept} kept of ${r.layers.original}`,
    `  params        ${formatCount(r.params.written)} written (${r.params.written.toLocaleString('en-US')}; full model ${formatCount(r.params.full_model)})`,
    `  bytes         ${formatBytes(r.bytes.on_disk)} in ${r.files.length} files (${weightFiles} weight files)`,
    `  self-check    buildLoadPlan loads it`,
    `  time          ${r.time_s} s`,
  ].join('\n') + '\n';
}

function fileSize(dir: string, name: string): number {
  return fs.statSync(path.join(dir, name)).size;
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(2);
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(2)} ${units[i]}`;
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return String(n);
}

export const synthCommand: CommandModule<object, Args> = {
  command: 'synth',
  describe: "write a random-weight checkpoint with a real model's shapes",
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) =>
    runCommand(() =>
      runSynth({
        shape: a.shape,
        config: a.config,
        layers: a.layers,
        dtype: a.dtype,
        shards: a.shards,
        seed: a.seed,
        out: a.out,
        force: a.force,
        json: a.json,
        listShapes: a.listShapes,
        format: a.format,
        type: a.type,
      }),
    ),
};
