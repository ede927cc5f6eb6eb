// Child processes for the tests, run without blocking this process: vitest's worker answers its
// main process over an RPC whose calls (onTaskUpdate) time out after a fixed 60 s, so a spawnSync
// that runs a long child (or several back to back) fails the whole run, even with every test passed.
import { spawn } from 'node:child_process';

export interface CommandRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  cwd?: string;
  /** The child's whole environment; this process's when absent. */
  env?: NodeJS.ProcessEnv;
  /** Past this the child gets SIGTERM, then SIGKILL if it is still there KILL_GRACE_MS later. */
  timeoutMs?: number;
  uid?: number;
  gid?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
/** Time a child has to clean up after SIGTERM (the CLI removes its temp files, kills its own children). */
const KILL_GRACE_MS = 5_000;

/**
 * Runs `command ARGS` to its end with stdin closed, collecting stdout and stderr as UTF-8.
 * Rejects only when the command cannot be started.
 */
export function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<CommandRun> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...spawnOptions, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.on('error', () => {}); // a child that exits at once may close its stdin first
    child.stdin.end();
    let killTimer: NodeJS.Timeout | undefined;
    const timeoutTimer = setTimeout(() => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      // A grandchild that holds the pipes must not keep the run waiting once the child is gone.
      child.stdout.destroy();
      child.stderr.destroy();
    }, timeoutMs);
    const settle = () => {
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
    };
    child.once('error', (error) => {
      settle();
      reject(error);
    });
    child.once('close', (status, signal) => {
      settle();
      resolve({ status, signal, stdout, stderr });
    });
  });
}
