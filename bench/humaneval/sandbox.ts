// Runs one untrusted program in a fresh python3 process: its own process group (and, where the
// machine allows, its own network and PID namespaces), rlimits, an unprivileged user, a fresh
// temporary working directory removed afterwards, and a wall-clock timeout that kills the whole
// group. The verdict comes back on fd 3 (see sandbox_runner.py).
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { repoRoot } from '../paths.js';
import { groupMembers, killGroup } from './processes.js';

export interface SandboxLimits {
  timeoutMs: number;
  memoryBytes: number;
  cpuSeconds: number;
  nproc: number;
  fsizeBytes: number;
  nofile: number;
}

export type SandboxJob =
  | { kind: 'check'; program: string }
  | {
      kind: 'differential';
      candidate: string;
      prompt: string;
      groundTruth: string;
      /** Input preconditions (assert lines for the function body): only used to explain failures. */
      contract: string;
      entryPoint: string;
      /** JSON holding base_input and plus_input, parsed by Python so floats stay floats. */
      inputs: string;
      atol: number;
    };

export interface PartCount {
  passed: number;
  total: number;
}

export type ExecStatus = 'passed' | 'failed' | 'timeout' | 'error';

export interface ExecOutcome {
  /** `error`: the sandbox itself could not run the program (no verdict on the code). */
  status: ExecStatus;
  error: string | null;
  exec_ms: number;
  base?: PartCount;
  plus?: PartCount;
  /** Group members still alive after the run (then killed): 0 unless isolation is weaker than designed. */
  survivors: number;
  /** Who the program ran as, as the runner saw itself; absent when it never reported. */
  identity?: SandboxIdentity;
}

export interface SandboxIdentity {
  uid: number;
  /** True in a PID namespace of its own (the runner is its init). */
  pid1: boolean;
  no_new_privs: boolean;
  python: string;
}

/** How programs are started on this machine, as the probe found it. */
export interface SandboxSetup {
  python: string;
  /** `unshare ... --` or nothing. */
  prefix: string[];
  dropTo: { uid: number; gid: number } | null;
}

const RUNNER = join(repoRoot(), 'bench', 'humaneval', 'sandbox_runner.py');
const OUTPUT_CAP = 16 * 1024;

function collect(stream: Readable | null, cap: number): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  // Keep reading past the cap so a chatty program never blocks on a full pipe.
  stream?.on('data', (b: Buffer) => {
    if (size < cap) chunks.push(b.subarray(0, cap - size));
    size += b.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

function freshDir(dropTo: SandboxSetup['dropTo']): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-humaneval-'));
  if (dropTo) chownSync(dir, dropTo.uid, dropTo.gid);
  return dir;
}

/** rm -rf that also gets through directories the program made unreadable to its owner. */
function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    const open = (d: string) => {
      chmodSync(d, 0o700);
      for (const e of readdirSync(d)) if (statSync(join(d, e), { throwIfNoEntry: false })?.isDirectory()) open(join(d, e));
    };
    open(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

function payload(job: SandboxJob, limits: SandboxLimits, dropTo: SandboxSetup['dropTo']): string {
  const common = {
    limits: { memory_bytes: limits.memoryBytes, cpu_seconds: limits.cpuSeconds, nproc: limits.nproc, fsize_bytes: limits.fsizeBytes, nofile: limits.nofile },
    drop_to: dropTo,
  };
  if (job.kind === 'check') return JSON.stringify({ kind: 'check', program: job.program, ...common });
  return JSON.stringify({
    kind: 'differential', candidate: job.candidate, prompt: job.prompt, ground_truth: job.groundTruth, contract: job.contract, entry_point: job.entryPoint,
    inputs: job.inputs, atol: job.atol, ...common,
  });
}

const SIGNAL_HINTS: Partial<Record<NodeJS.Signals, string>> = {
  SIGXCPU: 'CPU time limit',
  SIGXFSZ: 'file size limit',
  SIGSEGV: 'segmentation fault',
  SIGKILL: 'perhaps by the kernel, out of memory',
};

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function verdict(channel: string, exit: Exit, stderr: string, timedOut: boolean, limits: SandboxLimits): Omit<ExecOutcome, 'exec_ms' | 'survivors'> {
  if (timedOut) return { status: 'timeout', error: `timed out after ${limits.timeoutMs / 1000} s; the process group was killed` };
  const [ready, result] = channel.split('\n');
  const tail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
  if (ready !== 'ready') {
    return { status: 'error', error: `the sandbox did not start (exit ${exit.code ?? exit.signal})${tail}` };
  }
  if (result) {
    try {
      const r = JSON.parse(result) as Omit<ExecOutcome, 'exec_ms' | 'survivors'>;
      return { status: r.status, error: r.error, base: r.base, plus: r.plus, identity: r.identity };
    } catch {
      return { status: 'failed', error: 'the program wrote over the verdict channel (fd 3)' };
    }
  }
  const how = exit.signal ? `was killed by ${exit.signal}${SIGNAL_HINTS[exit.signal] ? ` (${SIGNAL_HINTS[exit.signal]})` : ''}` : `exited with code ${exit.code}`;
  return { status: 'failed', error: `the program ${how} before the tests finished${tail}` };
}

async function settleGroup(pgid: number, timedOut: boolean): Promise<number> {
  // With a PID namespace nothing outlives the runner; without one a straggler may.
  const leftovers = timedOut ? 0 : groupMembers(pgid).length;
  killGroup(pgid);
  for (let waited = 0; groupMembers(pgid).length > 0 && waited < 2000; waited += 20) await delay(20);
  return leftovers + groupMembers(pgid).length;
}

export async function runInSandbox(setup: SandboxSetup, limits: SandboxLimits, job: SandboxJob): Promise<ExecOutcome> {
  const dir = freshDir(setup.dropTo);
  const started = performance.now();
  const [command, ...args] = [...setup.prefix, setup.python, '-I', '-B', RUNNER];
  const child = spawn(command, args, {
    cwd: dir,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: dir, TMPDIR: dir, LANG: 'C.UTF-8' },
    detached: true, // its own process group, so one kill reaches every descendant that stays in it
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  const pgid = child.pid;
  const closed = new Promise<void>((res) => child.on('close', () => res()));
  const exited = new Promise<Exit | Error>((res) => {
    child.on('exit', (code, signal) => res({ code, signal }));
    child.on('error', res);
  });
  child.stdout?.resume(); // what the program prints is of no use, but must not fill the pipe
  const stderr = collect(child.stderr, OUTPUT_CAP);
  const channel = collect(child.stdio[3] as Readable, 1 << 20);
  child.stdin?.on('error', () => {}); // a program that dies early closes stdin under us
  child.stdin?.end(payload(job, limits, setup.dropTo));

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (pgid) killGroup(pgid);
  }, limits.timeoutMs);
  const exit = await exited;
  clearTimeout(timer);
  const exec_ms = performance.now() - started;
  try {
    const survivors = pgid ? await settleGroup(pgid, timedOut) : 0;
    // Every holder of the pipes is dead by now; the cap only guards against a kernel surprise.
    await Promise.race([closed, delay(1000, undefined, { ref: false })]);
    const v = exit instanceof Error
      ? { status: 'error' as const, error: `cannot start ${command}: ${exit.message}` }
      : verdict(channel(), exit, stderr(), timedOut, limits);
    return { ...v, exec_ms, survivors };
  } finally {
    removeDir(dir);
  }
}
