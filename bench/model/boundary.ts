// A path named by a model file (a shard in an index, a part of a split GGUF) must not lead out of
// the model: a crafted index naming ../../../etc/passwd, an absolute path or a symlink to
// /etc/shadow would otherwise be opened and read.
import fs from 'node:fs';
import path from 'node:path';
import { ModelError } from '../errors.js';

/**
 * The folder a model's files may resolve into: the model folder, or for a Hugging Face cache
 * snapshot (models--ORG--NAME/snapshots/COMMIT, whose files link to ../../blobs) the repo's folder.
 */
export function modelBoundary(modelDir: string): string {
  const real = fs.realpathSync(modelDir);
  const parent = path.dirname(real);
  const repo = path.dirname(parent);
  return path.basename(parent) === 'snapshots' && path.basename(repo).startsWith('models--') ? repo : real;
}

/** `name` (relative to `modelDir`) as an absolute path, refused when it is absolute or resolves outside the model. */
export function insideModel(modelDir: string, name: string, what: string): string {
  if (path.isAbsolute(name)) throw new ModelError(`${what} names the absolute path ${name}: a model's files must lie in its folder`);
  const file = path.resolve(modelDir, name);
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return file; // missing: the caller says so
  }
  const boundary = modelBoundary(modelDir);
  if (real !== boundary && !real.startsWith(boundary + path.sep)) {
    throw new ModelError(`${what} ${name} resolves outside the model folder ${modelDir}: refused`);
  }
  return file;
}
