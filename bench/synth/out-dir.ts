// Where synth writes: refused before writing when the disk cannot hold the checkpoint, or when
// --out holds anything synth did not write.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { FLOAT_DTYPE_BYTES, FLOAT_DTYPE_OF } from '../model/dtype.js';
import { isJsonObject, readJsonObject } from '../model/json.js';
import type { ModelDtype } from '../model/types.js';
import type { CheckpointLayout } from './layout.js';
import { safetensorsHeader } from './safetensors.js';
import { PROVENANCE_KEY } from './shapes.js';
import { formatBytes } from './sizes.js';

export interface FsSpace {
  bavail: number | bigint;
  bsize: number | bigint;
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

export function clearOutDir(out: string, names: string[]): void {
  for (const name of names) fs.unlinkSync(path.join(out, name));
}
