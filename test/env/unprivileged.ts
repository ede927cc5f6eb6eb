// Runs a script against the addon as a user without special rights: permission checks are
// what some error paths are about, and root skips them.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

/** `script` sees the addon as `a` and extra arguments as process.argv[2...]; it prints one JSON line. */
export function runUnprivileged(script: string, args: string[] = []): unknown {
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const addonPath = join(REPO_ROOT, 'build', 'Release', 'rabbit_native.node');
  const run = spawnSync(process.execPath, ['-e', `const a = require(process.argv[1]);\n${script}`, addonPath, ...args], {
    encoding: 'utf8',
    ...asNobody,
  });
  if (run.status !== 0) throw new Error(`unprivileged script failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout);
}
