// Shared by the humaneval tests: the datasets in ../shared, the command run in-process (it is not
// registered in bench/cli.ts yet), and a fresh dist/ for the engine's worker process.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import yargs from 'yargs';
import { afterEach } from 'vitest';
import { humanevalCommand } from '../../bench/commands/humaneval.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCommand } from '../helpers/run.js';

export const DATASETS = join(REPO_ROOT, '..', 'shared', 'datasets');
export const HUMANEVAL = join(DATASETS, 'HumanEval.jsonl.gz');
export const HUMANEVAL_PLUS = join(DATASETS, 'HumanEvalPlus.jsonl.gz');
export const HAS_DATASETS = existsSync(HUMANEVAL) && existsSync(HUMANEVAL_PLUS);
export const DATASETS_SUITE = HAS_DATASETS ? 'shared datasets' : 'shared datasets (skipped: ../shared/datasets/HumanEval*.jsonl.gz are absent)';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `rabbit-bench humaneval ARGS` in this process, capturing what it writes. */
export async function humaneval(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  let code: number;
  try {
    await yargs(['humaneval', ...args])
      .command(humanevalCommand)
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
    code = Number(process.exitCode ?? 0);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
  }
  return { code, stdout, stderr };
}

/** Temp folders removed after each test of the calling file. */
export function useTempDirs(prefix = 'rb-he-test-'): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

function newestTs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestTs(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** The engine runs from dist/ in a child process: compile when bench/ changed since the last build. */
export async function ensureCompiledWorker(): Promise<void> {
  const worker = join(REPO_ROOT, 'dist', 'bench', 'humaneval', 'engine-worker.js');
  if (existsSync(worker) && statSync(worker).mtimeMs >= newestTs(join(REPO_ROOT, 'bench'))) return;
  await runCommand(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: REPO_ROOT });
  if (!existsSync(worker)) throw new Error(`cannot build ${relative(REPO_ROOT, worker)}`);
}

/** Processes whose command line contains `marker` (to prove none outlived a sandbox). */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
