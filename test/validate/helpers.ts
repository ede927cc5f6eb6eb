import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ValidateFileSchema, type ValidateFile } from '../../bench/validate/schema.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCommand, type CommandRun } from '../helpers/run.js';

const CLI = join(REPO_ROOT, 'dist', 'bench', 'cli.js');

/**
 * Runs the compiled `rabbit-bench validate` (npm test compiles it first). An ambient
 * RABBIT_BENCH_FAULT is dropped unless the test sets one.
 */
export function runValidate(args: string[], env: Record<string, string | undefined> = {}): Promise<CommandRun> {
  return runCommand(process.execPath, [CLI, 'validate', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, RABBIT_BENCH_FAULT: undefined, ...env },
    timeoutMs: 300_000,
  });
}

/** `--json` output: exactly one JSON document on stdout, valid against the schema. */
export function parseJsonRun(r: CommandRun): ValidateFile {
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one JSON line on stdout, got ${lines.length}:\n${r.stdout}\n--- stderr:\n${r.stderr}`);
  return ValidateFileSchema.parse(JSON.parse(lines[0]));
}

/**
 * Processes still running in process group `pgid`. Zombies do not count: they are dead and only
 * wait for whoever adopted them (PID 1 or a subreaper) to collect their exit status.
 */
export function processesInGroup(pgid: number): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && Number(f[1]) === pgid && !f[2].startsWith('Z'))
    .map((f) => f.join(' '));
}
