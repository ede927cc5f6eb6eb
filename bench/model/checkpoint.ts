import fs from 'node:fs';
import { ModelError } from '../errors.js';
import { insideModel } from './boundary.js';
import { isJsonObject, readJsonObject, show } from './json.js';
import { readSafetensorsHeader } from './safetensors.js';
import type { TensorRef } from './types.js';

const SINGLE_FILE = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';

export interface Checkpoint {
  tensors: Map<string, TensorRef>;
  /** Where a missing tensor was looked for, for error messages. */
  searched: string;
}

/** Every tensor of the folder's safetensors checkpoint, single-file or sharded. */
export function openCheckpoint(modelDir: string): Checkpoint {
  // transformers loads model.safetensors when both it and an index are present.
  const single = insideModel(modelDir, SINGLE_FILE, 'the checkpoint');
  if (isFile(single)) return { tensors: readSafetensorsHeader(single).tensors, searched: SINGLE_FILE };
  const index = insideModel(modelDir, INDEX_FILE, 'the checkpoint index');
  if (isFile(index)) return openSharded(modelDir, index);
  const entries = fs.readdirSync(modelDir).sort();
  throw new ModelError(
    `${modelDir}: no ${SINGLE_FILE} or ${INDEX_FILE} (only safetensors checkpoints are supported); ` +
      `the folder holds: ${entries.length > 0 ? entries.join(', ') : 'nothing'}`,
  );
}

function openSharded(modelDir: string, indexFile: string): Checkpoint {
  const fail = (message: string): never => {
    throw new ModelError(`${indexFile}: ${message}`);
  };
  const weightMap = readJsonObject(indexFile, { uniqueKeys: true }).weight_map;
  if (!isJsonObject(weightMap)) return fail(`'weight_map' must map tensor names to shard files, found ${show(weightMap)}`);
  const namesByShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '') return fail(`weight_map entry '${name}' must be a file name, found ${show(shard)}`);
    const names = namesByShard.get(shard);
    if (names) names.push(name);
    else namesByShard.set(shard, [name]);
  }
  const tensors = new Map<string, TensorRef>();
  for (const [shard, names] of namesByShard) {
    const file = insideModel(modelDir, shard, `${indexFile}: weight_map's shard`);
    if (!isFile(file)) {
      const others = names.length > 1 ? ` and ${names.length - 1} more` : '';
      fail(`shard ${shard} is missing (looked for ${file}; it should hold ${names[0]}${others})`);
    }
    const header = readSafetensorsHeader(file);
    for (const name of names) {
      const ref = header.tensors.get(name);
      if (!ref) fail(`weight_map puts ${name} in ${shard}, but that file has no tensor of that name`);
      else tensors.set(name, ref);
    }
  }
  return { tensors, searched: `${INDEX_FILE} and its shards ${[...namesByShard.keys()].sort().join(', ')}` };
}

/** Whether `file` is there; a FIFO or device under a checkpoint's name is an error, not an absence. */
function isFile(file: string): boolean {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (stat && !stat.isFile()) throw new ModelError(`${file} is not a regular file`);
  return stat !== undefined;
}
