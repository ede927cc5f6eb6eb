import { accessSync, constants, existsSync } from 'node:fs';
import { UserError } from './errors.js';
import { dirname, join, relative, resolve } from 'node:path';
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
 * The compiled script `name` beside the module at `moduleUrl`: in dist/ either way, since a worker
 * or child process runs JavaScript even when the module runs as TypeScript (vitest).
 */
export function compiledScript(moduleUrl: string, name: string): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const dir = moduleUrl.endsWith('.ts') ? join(repoRoot(), 'dist', relative(repoRoot(), here)) : here;
  const script = join(dir, name);
  if (!existsSync(script)) throw new UserError(`${script} is missing: run \`npm run build:ts\``, 2);
  return script;
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
