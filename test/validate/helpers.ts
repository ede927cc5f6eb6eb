import { execFileSync } from 'node:child_process';
import { ValidateFileSchema, type ValidateFile } from '../../bench/validate/schema.js';
import { runCli } from '../helpers/cli.js';
import type { CommandRun } from '../helpers/run.js';

/**
 * Runs the compiled `rabbit-bench validate` (npm test compiles it first). An ambient
 * RABBIT_BENCH_FAULT is dropped unless the test sets one.
 */
export function runValidate(args: string[], env: Record<string, string | undefined> = {}): Promise<CommandRun> {
  return runCli(['validate', ...args], { RABBIT_BENCH_FAULT: undefined, ...env }, 300_000);
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
