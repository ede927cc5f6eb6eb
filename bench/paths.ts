import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, whether running from bench/*.ts (vitest) or dist/bench/*.js. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('cannot find the rabbit-bench package root');
}

/**
 * `dir` when this process may write there, else undefined. The disk-read measurement writes a
 * scratch file beside the model, which a read-only model folder (a shared HF cache) refuses.
 */
export function writableDir(dir: string): string | undefined {
  try {
    accessSync(dir, constants.W_OK);
    return dir;
  } catch {
    return undefined;
  }
}
