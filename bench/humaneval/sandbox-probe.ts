// Finds the strongest isolation this machine allows, once per run, by running a harmless
// program through each candidate setup, and says plainly what is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { UserError } from '../errors.js';
import { repoRoot } from '../paths.js';
import { runInSandbox, type SandboxIdentity, type SandboxLimits, type SandboxSetup } from './sandbox.js';
import type { SandboxReport } from './schema.js';

// Imports that HumanEval programs use: the sandbox user must be able to read the standard library.
const PROBE = 'import collections, functools, hashlib, heapq, itertools, json, math, re, string, typing\n';

function nobody(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return line ? { uid: Number(uid), gid: Number(gid) } : { uid: 65534, gid: 65534 };
}

/** python3 as PATH finds it (resolved through shims such as pyenv's) and the system one. */
function pythonCandidates(explicit: string | undefined): string[] {
  if (explicit) return [explicit];
  const found: string[] = [];
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) found.push(r.stdout.trim());
  if (existsSync('/usr/bin/python3')) found.push('/usr/bin/python3');
  const unique = [...new Map(found.map((p) => [realpathSync(p), p])).values()];
  if (unique.length === 0) throw new UserError('no python3 found to run the tests: install one or pass --exec-python PATH', 2);
  return unique;
}

function prefixes(root: boolean): string[][] {
  const user = root ? [] : ['--user']; // without root, a user namespace is what lets us make the others
  // Private mounts only as root: in a user namespace of our own the program would keep the
  // capabilities to unmount what covers the tool's folders.
  const mounts = root ? [['unshare', '--net', '--pid', '--mount', '--mount-proc', '--fork', '--kill-child', '--']] : [];
  return [
    ...mounts,
    ['unshare', ...user, '--net', '--pid', '--fork', '--kill-child', '--'],
    ['unshare', ...user, '--net', '--'],
    [],
  ];
}

interface Attempt {
  setup: SandboxSetup;
  error: string;
}

const describeAttempt = (a: Attempt) => `${[...a.setup.prefix, a.setup.python].join(' ')}${a.setup.dropTo ? ` as uid ${a.setup.dropTo.uid}` : ''}: ${a.error}`;

/** `hide`: folders besides this tool's own that programs must not read (the dataset's, the results'). */
export async function prepareSandbox(opts: { python?: string; limits: SandboxLimits; hide?: string[] }): Promise<{ setup: SandboxSetup; report: SandboxReport }> {
  // Process groups are checked through /proc and isolated with Linux namespaces.
  if (process.platform !== 'linux') throw new UserError(`the humaneval sandbox needs Linux (this is ${process.platform})`, 2);
  const root = process.getuid?.() === 0;
  const failed: Attempt[] = [];
  const probeLimits = { ...opts.limits, timeoutMs: Math.max(opts.limits.timeoutMs, 10_000) };
  for (const dropTo of root ? [nobody(), null] : [null]) {
    for (const python of pythonCandidates(opts.python)) {
      for (const prefix of prefixes(root)) {
        const setup: SandboxSetup = { python, prefix, dropTo, hide: [...new Set([repoRoot(), ...(opts.hide ?? [])])] };
        const r = await runInSandbox(setup, probeLimits, { kind: 'check', program: PROBE });
        const mountsHeld = !prefix.includes('--mount') || r.identity?.private_tmp === true;
        if (r.status === 'passed' && r.identity && mountsHeld && (!dropTo || r.identity.uid === dropTo.uid)) {
          return { setup, report: describe(setup, r.identity, opts.limits, root, failed) };
        }
        failed.push({ setup, error: r.error ?? `${r.status}, as uid ${r.identity?.uid}` });
      }
    }
  }
  throw new UserError(`cannot run python3 in any sandbox setup:\n  ${failed.map(describeAttempt).join('\n  ')}`, 2);
}

function describe(setup: SandboxSetup, id: SandboxIdentity, limits: SandboxLimits, root: boolean, failed: Attempt[]): SandboxReport {
  const warnings: string[] = [];
  // Why the stronger setups were passed over: the attempts with this python that had what is missing.
  const why = (has: (a: Attempt) => boolean) => {
    const a = failed.find((f) => f.setup.python === setup.python && has(f)) ?? failed.find(has);
    return a ? ` (${describeAttempt(a)})` : '';
  };
  const networkIsolated = setup.prefix.includes('--net');
  if (root && !setup.dropTo) {
    warnings.push(`could NOT drop root privileges${why((a) => a.setup.dropTo !== null)}: programs run as root, which RLIMIT_NPROC does not bind and no file permission stops`);
  } else if (!root) {
    warnings.push(`not running as root, so programs run as your own user (uid ${id.uid}): files your user may write are protected only by the guard`);
  }
  if (!networkIsolated) warnings.push(`network NOT isolated: no network namespace could be made${why((a) => a.setup.prefix.includes('--net'))}`);
  if (!id.pid1) warnings.push(`no PID namespace${why((a) => a.setup.prefix.includes('--pid'))}: a child that leaves the process group (setsid) could outlive its problem`);
  if (!id.private_tmp) {
    warnings.push(
      `no mount namespace${root ? why((a) => a.setup.prefix.includes('--mount')) : ' (needs root)'}: programs share /tmp, /var/tmp and /dev/shm ` +
        `with this machine, see its /proc, and may read this tool's files; a program's files outside its temporary folder stay behind`,
    );
  }
  return {
    python: `${setup.python} (${id.python})`,
    user: setup.dropTo ? `uid ${setup.dropTo.uid} gid ${setup.dropTo.gid} (dropped from root)` : `uid ${id.uid} (unchanged)`,
    privileges_dropped: setup.dropTo !== null,
    network_isolated: networkIsolated,
    pid_namespace: id.pid1,
    no_new_privs: id.no_new_privs,
    private_mounts: id.private_tmp,
    hidden: id.hidden ?? [],
    limits: {
      timeout_s: limits.timeoutMs / 1000,
      memory_bytes: limits.memoryBytes,
      cpu_seconds: limits.cpuSeconds,
      nproc: limits.nproc,
      fsize_bytes: limits.fsizeBytes,
      nofile: limits.nofile,
    },
    warnings,
  };
}
