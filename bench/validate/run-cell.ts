// Runs one cell in a child process of its own process group and turns however it ended into a
// cell status. A crash or a hang is the cell's result, never the end of the run.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { repoRoot } from '../paths.js';
import { CellOutputSchema, type CellOutput, type CellStatus } from './schema.js';

const STDERR_TAIL_CHARS = 4000;

/** The compiled child entry: beside this module in dist/, or dist/ of the checkout when running from source. */
export function cellScript(): string {
  if (import.meta.url.endsWith('.js')) {
    const sibling = fileURLToPath(new URL('./cell.js', import.meta.url));
    if (existsSync(sibling)) return sibling;
  }
  const built = join(repoRoot(), 'dist', 'bench', 'validate', 'cell.js');
  if (!existsSync(built)) throw new UserError(`${built} is missing: build the CLI first (npx tsc -p tsconfig.json)`, 2);
  return built;
}

export interface CellRun {
  status: Exclude<CellStatus, 'skipped' | 'unavailable'>;
  reason: string | null;
  output: CellOutput | null;
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  elapsedMs: number;
  stderrTail: string;
}

export interface Exit {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  timeoutMs: number;
  stdout: string;
  stderr: string;
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}

function parseOutput(stdout: string): CellOutput | null {
  const line = lastLine(stdout);
  if (!line) return null;
  try {
    const parsed = CellOutputSchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** exit 0 pass, 1 fail, killed by a signal (or 128+N from a wrapper) crash, our kill timeout, anything else error. */
export function classifyExit(e: Exit): Pick<CellRun, 'status' | 'reason' | 'output'> {
  const output = parseOutput(e.stdout);
  if (e.timedOut) {
    return { status: 'timeout', reason: `no result within ${formatSeconds(e.timeoutMs)}; its process group was killed`, output: null };
  }
  const crashSignal = e.signal ?? (e.code !== null && e.code > 128 && e.code < 160 ? `signal ${e.code - 128}` : null);
  if (crashSignal) {
    const said = lastLine(e.stderr);
    return { status: 'crash', reason: `killed by ${crashSignal}${said ? ` (last stderr: ${said.slice(0, 200)})` : ''}`, output: null };
  }
  if (e.code === 0 && output?.pass) return { status: 'pass', reason: null, output };
  if (e.code === 1 && output && !output.pass) return { status: 'fail', reason: output.failures.join('; '), output };
  const said = lastLine(e.stderr) || lastLine(e.stdout) || 'no output';
  return { status: 'error', reason: `cell exited with code ${e.code}: ${said.slice(0, 300)}`, output };
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${+ms.toFixed(1)} ms`;
}

/** Kills every process of the group led by `pid`; fine if it is already gone. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left.
  }
}

/** Children alive right now, so a Ctrl-C of the parent can take them down too. */
const running = new Set<number>();
let handlersInstalled = false;

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const pid of running) killGroup(pid);
      process.kill(process.pid, sig);
    });
  }
}

export function runCellProcess(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CellRun> {
  installSignalHandlers();
  const started = performance.now();
  return new Promise((resolvePromise) => {
    // detached: the child leads a new process group, so a timeout can kill it and anything it started.
    const child = spawn(process.execPath, [cellScript(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pid = child.pid ?? null;
    if (pid !== null) running.add(pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_TAIL_CHARS);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== null) killGroup(pid);
    }, timeoutMs);
    let done = false;
    const finish = (code: number | null, signal: string | null, spawnError?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (pid !== null) {
        killGroup(pid); // whatever the cell left behind
        running.delete(pid);
      }
      const elapsedMs = performance.now() - started;
      const base = { pid, exitCode: code, signal, elapsedMs, stderrTail: stderr.trim() };
      if (spawnError) {
        resolvePromise({ ...base, status: 'error', reason: `cannot start the cell: ${spawnError.message}`, output: null });
        return;
      }
      resolvePromise({ ...base, ...classifyExit({ code, signal, timedOut, timeoutMs, stdout, stderr }) });
    };
    child.once('error', (err) => finish(null, null, err));
    child.once('close', (code, signal) => finish(code, signal));
  });
}
