// Shared by the CUDA tests: the addon's CUDA status, and running commands and probes in children.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { cudaStatus } from '../../bench/cuda/status.js';
import type { NativeCudaStatus } from '../../bench/engine/native.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { runCommand, type CommandRun } from '../helpers/run.js';

export const STATUS: NativeCudaStatus = cudaStatus();
/** Label for suites that need a GPU, so a skip says why. */
export const GPU_SUITE = STATUS.available
  ? `CUDA on ${STATUS.deviceName}`
  : `CUDA (skipped: ${STATUS.code}: ${STATUS.reason})`;

export const ADDON = process.env.RABBIT_BENCH_ADDON ?? join(REPO_ROOT, 'build', 'Release', 'rabbit_native.node');
export const CUDA_LIBRARY = join(REPO_ROOT, 'build', 'Release', 'librb_cuda.so');

/** Runs `rabbit-bench cpu-vs-cuda ARGS` from the compiled code (npm test compiles it first). */
export function runCpuVsCuda(args: string[], env: Record<string, string> = {}): Promise<CommandRun> {
  return runCli(['cpu-vs-cuda', ...args], env, 300_000);
}

/** The addon's cudaStatus() in a fresh process with `env` (the library and driver load once per process). */
export async function statusInChild(env: Record<string, string>): Promise<NativeCudaStatus> {
  const r = await runCommand(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(ADDON)}).cudaStatus()))`], {
    env: { ...process.env, ...env },
    timeoutMs: 60_000,
  });
  if (r.status !== 0) throw new Error(`cudaStatus() in a child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as NativeCudaStatus;
}

/** nvcc where CMake would find it (PATH, CUDA_PATH/CUDA_HOME, /usr/local/cuda), or null. */
export function findNvcc(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...['CUDA_PATH', 'CUDA_HOME', 'CUDA_ROOT'].flatMap((v) => (process.env[v] ? [join(process.env[v]!, 'bin')] : [])),
    '/usr/local/cuda/bin', '/opt/cuda/bin'];
  if (process.env.CUDACXX && existsSync(process.env.CUDACXX)) return process.env.CUDACXX;
  for (const d of dirs) if (d && existsSync(join(d, 'nvcc'))) return join(d, 'nvcc');
  return null;
}

/** A C compiler for the small helpers the tests build (fake drivers, the kernel emulation). */
export function findCompiler(name: 'cc' | 'c++'): string | null {
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}
