// The one cache of synthesised models (the default model, the benchmarks' shapes, cpu-vs-cuda's
// cut shapes, the GGUF files): <XDG_CACHE_HOME or ~/.cache>/rabbit-bench/models/<name>, named by
// synth/models.ts. Each is written once, beside its final name, and renamed into place, so a name
// that exists is complete and an interrupted run leaves nothing that looks finished.
import { existsSync, mkdirSync, renameSync, rmSync, statfsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'rabbit-bench');
}

export function synthCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'models');
}

export interface CachedSynth {
  /** models/<name>: a folder or a file. */
  name: string;
  /** What is being made, for the one log line: "synthesising <what> into <path> — once". */
  what: string;
  /** Writes the model at `path` (a folder or a file, as `name` is). */
  write: (path: string) => void;
  /** Bytes it will take, when known: refused up front if the cache's disk has less free. */
  bytes?: number;
  /** What the refusal suggests besides freeing space (e.g. fewer layers). */
  smaller?: string;
}

/** The cached model's path, written first if absent. */
export function ensureSynthesised(model: CachedSynth, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  const models = synthCacheDir(env);
  const path = join(models, model.name);
  if (existsSync(path)) return path;
  mkdirSync(models, { recursive: true });
  if (model.bytes !== undefined) {
    const fs = statfsSync(models);
    const free = Number(fs.bavail) * Number(fs.bsize);
    if (model.bytes * 1.05 > free) {
      throw new UserError(`synthesising ${model.what} needs ${(model.bytes / 2 ** 30).toFixed(2)} GiB in ${models}, ` +
        `but only ${(free / 2 ** 30).toFixed(2)} GiB are free: ${model.smaller ? `${model.smaller} or ` : ''}free some space`);
    }
  }
  log(`synthesising ${model.what} into ${path} — once`);
  const partial = `${path}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  try {
    model.write(partial);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  renameSync(partial, path);
  return path;
}
