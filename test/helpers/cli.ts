import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';
import { runCommand, type CommandRun } from './run.js';

/**
 * Runs the compiled CLI (npm test compiles it first) as a user would, with `env` over this
 * process's environment (undefined removes a variable).
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs?: number): Promise<CommandRun> {
  return runCommand(process.execPath, [join(REPO_ROOT, 'dist', 'bench', 'cli.js'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    timeoutMs,
  });
}
