import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelError } from '../errors.js';
import { ggufInFolder, ggufParts } from './gguf/files.js';
import { isGgufFile } from './gguf/reader.js';

export interface HubRef {
  repo: string;
  revision: string | undefined;
}

/** One part of a Hub repo id, with huggingface_hub's validate_repo_id rules. */
const REPO_PART = /^\w(?:[\w.-]*\w)?$/;
const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** Where a model's files are: a Hugging Face folder (config.json + safetensors) or a GGUF model. */
export type ModelSource =
  | { format: 'safetensors'; dir: string }
  | {
      format: 'gguf';
      dir: string;
      /** The first (or only) file. */
      file: string;
      /** Every part of a split model, in order; [file] when not split. */
      parts: string[];
    };

/** What --model takes to open this model again. */
export function modelArgument(source: ModelSource): string {
  return source.format === 'gguf' ? source.file : source.dir;
}

/**
 * A model folder on disk, a GGUF file (any name: Ollama's blobs have none; the first part of a
 * split model), or a Hub id `ORG/NAME[@REVISION]` found in the local Hugging Face cache. A folder
 * with config.json is a Hugging Face checkpoint; one without it may hold one GGUF model.
 * rabbit-bench never downloads: benchmarks must not depend on the network.
 */
export function resolveModelSource(idOrPath: string, env: NodeJS.ProcessEnv = process.env): ModelSource {
  const stat = statOrUndefined(idOrPath);
  if (stat?.isFile()) {
    if (!isGgufFile(idOrPath)) {
      throw new ModelError(`${path.resolve(idOrPath)} is a file but not a GGUF file; expected a model folder, a .gguf file or a Hub repo id`);
    }
    const gguf = ggufParts(idOrPath);
    return { format: 'gguf', dir: path.dirname(gguf.file), ...gguf };
  }
  if (stat && !stat.isDirectory()) throw new ModelError(`${path.resolve(idOrPath)} is neither a folder nor a regular file`);
  let dir: string;
  if (stat) dir = path.resolve(idOrPath);
  else {
    const ref = parseHubRef(idOrPath);
    if (!ref) throw new ModelError(`no such model folder: ${path.resolve(idOrPath)}`);
    dir = findCachedSnapshot(ref, hubCacheDir(env));
  }
  try {
    // Without this, a folder we may not list reads as one without config.json.
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.X_OK);
  } catch (err) {
    throw new ModelError(`cannot read the model folder ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (statOrUndefined(path.join(dir, 'config.json'))?.isFile()) return { format: 'safetensors', dir };
  const gguf = ggufInFolder(dir);
  return gguf ? { format: 'gguf', dir, ...gguf } : { format: 'safetensors', dir };
}

export function parseHubRef(id: string): HubRef | undefined {
  const at = id.indexOf('@');
  const repo = at < 0 ? id : id.slice(0, at);
  const revision = at < 0 ? undefined : id.slice(at + 1);
  const parts = repo.split('/');
  const valid =
    parts.length === 2 &&
    repo.length <= 96 &&
    parts.every((p) => REPO_PART.test(p) && !p.includes('--') && !p.includes('..')) &&
    revision !== '';
  return valid ? { repo, revision } : undefined;
}

/** huggingface_hub's constants: HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv): string {
  const home = env.HOME || os.homedir();
  const expand = (p: string) => path.resolve(p === '~' || p.startsWith('~/') ? path.join(home, p.slice(1)) : p);
  const hubCache = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (hubCache) return expand(hubCache);
  const hfHome = env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'huggingface');
  return path.join(expand(hfHome), 'hub');
}

function findCachedSnapshot({ repo, revision }: HubRef, hubDir: string): string {
  const repoDir = path.join(hubDir, `models--${repo.replace('/', '--')}`);
  const fetch = `rabbit-bench never downloads models; fetch it first with \`hf download ${repo}${revision ? ` --revision ${revision}` : ''}\``;
  if (!statOrUndefined(repoDir)?.isDirectory()) {
    throw new ModelError(`${repo} is not a folder here and not in the Hugging Face cache (looked for ${repoDir}). ${fetch}`);
  }
  const rev = revision ?? 'main';
  const refFile = path.join(repoDir, 'refs', rev);
  const hashDir = path.join(repoDir, 'snapshots', rev);
  let commit: string;
  if (statOrUndefined(refFile)?.isFile()) commit = fs.readFileSync(refFile, 'utf8').trim();
  else if (COMMIT_HASH.test(rev) && statOrUndefined(hashDir)?.isDirectory()) commit = rev;
  else {
    const looked = COMMIT_HASH.test(rev) ? `${refFile} or ${hashDir}` : refFile;
    throw new ModelError(`revision '${rev}' of ${repo} is not in the Hugging Face cache (looked for ${looked}). ${fetch}`);
  }
  const snapshot = path.join(repoDir, 'snapshots', commit);
  if (!statOrUndefined(snapshot)?.isDirectory()) {
    throw new ModelError(`${refFile} names commit ${commit}, but ${snapshot} does not exist — incomplete download. ${fetch}`);
  }
  if (!statOrUndefined(path.join(snapshot, 'config.json'))?.isFile() && !ggufInFolder(snapshot)) {
    throw new ModelError(`${snapshot} has no config.json and no GGUF file — incomplete download. ${fetch}`);
  }
  return snapshot;
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ModelError(`${p}: cannot read (${code ?? String(err)})`);
  }
}
