// Runs one untrusted program under sandbox_runner.py: its own process group (and, where the
// machine allows, its own network, PID and mount namespaces, with a private /tmp as the working
// folder), rlimits, an unprivileged user, and a wall-clock timeout that kills the whole group.
// The verdict comes back on fd 3; fd 4 is the lifeline that ends the sandbox when this process
// ends, however it ends. Every live sandbox is known here, so a signal handler can end them all.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
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
  /** True in a PID namespace of its own (the supervisor is its init). */
  pid1: boolean;
  no_new_privs: boolean;
  python: string;
  /** Processes the program could see in /proc: a handful in a fresh one. */
  proc_pids: number;
  /** /tmp, /var/tmp and /dev/shm were the namespace's own, empty tmpfs. */
  private_tmp: boolean;
  /** Folders covered by an empty mount. */
  hidden: string[];
}

/** How programs are started on this machine, as the probe found it. */
export interface SandboxSetup {
  python: string;
  /** `unshare ... --` or nothing. */
  prefix: string[];
  dropTo: { uid: number; gid: number } | null;
  /** Folders the program must not read (the tool's tree, the dataset, the results): covered where mounts are private. */
  hide: string[];
}

/** Whether the setup gives the program a mount namespace of its own. */
const privateMounts = (setup: SandboxSetup) => setup.prefix.includes('--mount');

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

/** A host folder as the working folder, where the sandbox has no private /tmp. */
function freshDir(dropTo: SandboxSetup['dropTo']): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-humaneval-'));
  if (dropTo) chownSync(dir, dropTo.uid, dropTo.gid);
  return dir;
}

/**
 * Removes a host working folder; never throws. coreutils' rm walks by file descriptors, so paths
 * longer than PATH_MAX (120 nested 50-character folders) and folders made unreadable go too.
 * What it cannot remove is this sample's problem, said in its record, not the run's.
 */
function removeDir(dir: string): string | null {
  const r = spawnSync('rm', ['-rf', '--one-file-system', '--', dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return null;
  return `its temporary folder ${dir} could not be removed: ${(r.stderr || r.error?.message || `rm exited ${r.status}`).trim().split('\n')[0]}`;
}

/** Sandboxes running now: what a signal handler must kill and clean up. */
const live = new Map<number, { dir: string | null }>();

/** Kills every running sandbox's process group and removes its host folder (synchronously: for signal handlers). */
export function killSandboxes(): void {
  for (const [pgid, { dir }] of live) {
    killGroup(pgid);
    if (dir) removeDir(dir);
  }
  live.clear();
}

function payload(job: SandboxJob, limits: SandboxLimits, setup: SandboxSetup): string {
  const common = {
    limits: { memory_bytes: limits.memoryBytes, cpu_seconds: limits.cpuSeconds, nproc: limits.nproc, fsize_bytes: limits.fsizeBytes, nofile: limits.nofile },
    drop_to: setup.dropTo,
    private_mounts: privateMounts(setup),
    hide: setup.hide,
  };
  if (job.kind === 'check') return JSON.stringify({ kind: 'check', program: job.program, ...common });
  return JSON.stringify({
    kind: 'differential', candidate: job.candidate, prompt: job.prompt, ground_truth: job.groundTruth, contract: job.contract, entry_point: job.entryPoint,
    inputs: job.inputs, atol: job.atol, ...common,
  });
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Only the supervisor, which runs no untrusted code, holds fd 3: no verdict there is the sandbox's failure. */
function verdict(channel: string, exit: Exit, stderr: string, timedOut: boolean, limits: SandboxLimits): Omit<ExecOutcome, 'exec_ms' | 'survivors'> {
  if (timedOut) return { status: 'timeout', error: `timed out after ${limits.timeoutMs / 1000} s; the process group was killed` };
  const tail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
  try {
    const r = JSON.parse(channel) as Omit<ExecOutcome, 'exec_ms' | 'survivors'>;
    return { status: r.status, error: r.error, base: r.base, plus: r.plus, identity: r.identity };
  } catch {
    return { status: 'error', error: `the sandbox ended (exit ${exit.code ?? exit.signal}) without a verdict${tail}` };
  }
}

async function settleGroup(pgid: number, timedOut: boolean): Promise<number> {
  // With a PID namespace nothing outlives the runner; without one a straggler may.
  const leftovers = timedOut ? 0 : groupMembers(pgid).length;
  killGroup(pgid);
  for (let waited = 0; groupMembers(pgid).length > 0 && waited < 2000; waited += 20) await delay(20);
  return leftovers + groupMembers(pgid).length;
}

export async function runInSandbox(setup: SandboxSetup, limits: SandboxLimits, job: SandboxJob): Promise<ExecOutcome> {
  const dir = privateMounts(setup) ? null : freshDir(setup.dropTo);
  const started = performance.now();
  const [command, ...args] = [...setup.prefix, setup.python, '-I', '-B', RUNNER];
  const child = spawn(command, args, {
    cwd: dir ?? '/',
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
    detached: true, // its own process group, so one kill reaches every descendant that stays in it
    // fd 4, the lifeline: never written; its end in this process closes only when this process ends.
    stdio: ['pipe', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  const pgid = child.pid;
  if (pgid) live.set(pgid, { dir });
  const closed = new Promise<void>((res) => child.on('close', () => res()));
  const exited = new Promise<Exit | Error>((res) => {
    child.on('exit', (code, signal) => res({ code, signal }));
    child.on('error', res);
  });
  const stderr = collect(child.stderr, OUTPUT_CAP);
  const channel = collect(child.stdio[3] as Readable, 1 << 20);
  child.stdin?.on('error', () => {}); // a program that dies early closes stdin under us
  child.stdin?.end(payload(job, limits, setup));

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
    const leftover = dir ? removeDir(dir) : null;
    return { ...v, error: leftover ? [v.error, leftover].filter(Boolean).join('; ') : v.error, exec_ms, survivors };
  } finally {
    (child.stdio[4] as Writable | null)?.destroy();
    if (pgid) live.delete(pgid);
  }
}
