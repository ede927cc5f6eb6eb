// What was run, from which code: recorded next to every result so it can be reproduced.
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import type { RunMetadata } from './types.js';

type GitState = Pick<RunMetadata, 'git_commit' | 'git_dirty' | 'git_unavailable'>;

/** POSIX shell quoting: plain words stay as they are, anything else goes in single quotes. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

function git(cwd: string, args: string[]): string {
  // --no-optional-locks: `status` must not take the index lock from someone committing meanwhile.
  return execFileSync('git', ['--no-optional-locks', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).trim();
}

function gitState(root: string): GitState {
  const unavailable = (reason: string): GitState => ({ git_commit: null, git_dirty: null, git_unavailable: reason });
  try {
    // An installed package inside someone else's repository must not report that repository.
    const top = git(root, ['rev-parse', '--show-toplevel']);
    if (realpathSync(top) !== realpathSync(root)) return unavailable(`${root} is not a git checkout of its own (it lies inside ${top})`);
    return { git_commit: git(root, ['rev-parse', 'HEAD']), git_dirty: git(root, ['status', '--porcelain']) !== '', git_unavailable: null };
  } catch (err) {
    const e = err as Error & { stderr?: string };
    const detail = e.stderr?.trim().split('\n')[0] || e.message;
    return unavailable(`${root} is not a usable git checkout: ${detail}`);
  }
}

/** `argv` is the whole command line, usually process.argv; `startedAt` when the run began. */
export function runMetadata(argv: string[], startedAt: Date = new Date()): RunMetadata {
  const root = repoRoot();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return {
    ...gitState(root),
    command: argv.map(shellQuote).join(' '),
    cwd: process.cwd(),
    started_at: startedAt.toISOString(),
    rabbit_bench_version: pkg.version,
  };
}
