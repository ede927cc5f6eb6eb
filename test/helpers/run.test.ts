// The tests' child-process runner: what spawnSync gave (status, signal, output, a timeout), without
// stopping this process's event loop while the child runs.
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCommand } from './run.js';

const node = (script: string, options = {}) => runCommand(process.execPath, ['-e', script], options);

describe('runCommand', () => {
  it('returns the exit status and both outputs, decoded whole', async () => {
    // A multi-byte character split across two writes must still come out as one character.
    const r = await node("process.stdout.write(Buffer.from([0xc3])); setTimeout(() => { process.stdout.write(Buffer.from([0xa9])); process.stderr.write('err'); process.exit(3); }, 50)");
    expect(r).toEqual({ status: 3, signal: null, stdout: 'é', stderr: 'err' });
  });

  it('keeps the event loop free while the child runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    try {
      await node('setTimeout(() => {}, 1000)');
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(10);
  });

  it('gives the child its cwd and environment, and a stdin that ends at once', async () => {
    const r = await node("process.stdin.resume(); process.stdin.on('end', () => process.stdout.write(process.cwd() + ' ' + process.env.RB_RUN_TEST))", {
      cwd: tmpdir(),
      env: { ...process.env, RB_RUN_TEST: 'seen' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${tmpdir()} seen`);
  });

  it('a child past its timeout gets SIGTERM', async () => {
    const r = await node('setTimeout(() => {}, 60_000)', { timeoutMs: 200 });
    expect(r.status).toBeNull();
    expect(r.signal).toBe('SIGTERM');
  });

  it('a child that ignores SIGTERM gets SIGKILL, and a grandchild holding the pipes does not hold the result', async () => {
    const started = Date.now();
    const script = "process.on('SIGTERM', () => {}); const g = require('node:child_process').spawn('sleep', ['60'], { stdio: 'inherit' }); console.log(g.pid); setInterval(() => {}, 1000)";
    // Long enough for the child to start and set its handler on a loaded machine.
    const r = await node(script, { timeoutMs: 3000 });
    const grandchild = Number(r.stdout.trim());
    expect(grandchild, r.stderr).toBeGreaterThan(0);
    process.kill(grandchild, 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('rejects when the command cannot be started', async () => {
    await expect(runCommand('/nonexistent/rb-command', [])).rejects.toThrow(/ENOENT/);
  });
});
