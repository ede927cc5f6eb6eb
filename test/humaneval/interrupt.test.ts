// The tool stopped mid-run, by Ctrl-C, a scheduler's SIGTERM or kill -9, leaves no sandboxed
// program behind; and one completion whose files are hard to remove costs only its own sample.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { DATASETS_SUITE, HAS_DATASETS, HUMANEVAL, processesWith, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

function completions(dir: string, rows: [string, string][]): string {
  const file = join(dir, 'samples.jsonl');
  writeFileSync(file, rows.map(([task_id, completion]) => JSON.stringify({ task_id, completion })).join('\n'));
  return file;
}

/** A completion that starts a marked child which leaves its process group, then spins. */
function spinner(marker: string): string {
  return `    import posix\n    if posix.fork() == 0:\n        posix.setsid()\n        posix.execv("/bin/sleep", ["sleep", "${marker}"])\n    while True:\n        pass\n`;
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (check()) return true;
    await delay(50);
  }
  return check();
}

function hostTempFolders(): string[] {
  return readdirSync(tmpdir()).filter((e) => e.startsWith('rb-humaneval-'));
}

describe.skipIf(!HAS_DATASETS)(`humaneval stopped mid-run (${DATASETS_SUITE})`, () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    it(`${signal} to the tool kills every sandbox${signal === 'SIGKILL' ? ' (through the lifeline)' : ', keeps the records and exits 128+N'}`, async () => {
      const dir = tempDir();
      const marker = `${41 + Math.random()}`.slice(0, 12);
      const file = completions(dir, [['HumanEval/0', spinner(marker)], ['HumanEval/1', spinner(marker)], ['HumanEval/2', '    return number % 1.0\n']]);
      const before = new Set(hostTempFolders());
      const tool = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'bench', 'cli.js'), 'humaneval', '--dataset', HUMANEVAL, '--completions', file,
        '--problems', 'HumanEval/2,HumanEval/0,HumanEval/1', '--jobs', '1', '--timeout', '120', '--out', dir, '--no-save'], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      tool.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => tool.on('exit', (code, sig) => res({ code, signal: sig })));
      expect(await until(() => processesWith(marker).length > 0, 30_000), `no sandboxed program started: ${stderr}`).toBe(true);
      // Ctrl-C reaches the whole foreground process group; kill -9 only the tool itself.
      if (signal === 'SIGKILL') tool.kill('SIGKILL');
      else process.kill(-tool.pid!, signal);
      const exit = await exited;
      expect(await until(() => processesWith(marker).length === 0, 5000), `survivors: ${processesWith(marker).join(', ')}`).toBe(true);
      expect(hostTempFolders().filter((e) => !before.has(e))).toEqual([]);
      if (signal === 'SIGKILL') return;
      expect(exit.code).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(stderr).toMatch(new RegExp(`${signal}: stopped; every sandbox was killed; 1 sample\\(s\\) are recorded in .*\\.jsonl \\(continue with --resume\\)`));
      const records = readdirSync(dir).filter((e) => e.endsWith('.jsonl') && e !== 'samples.jsonl');
      expect(records).toHaveLength(1);
      const lines = readFileSync(join(dir, records[0]), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.filter((l) => l.task_id === 'HumanEval/2').map((l) => l.status)).toEqual(['passed']);
    });
  }

  it('a completion that nests 120 folders of 50 characters costs only its own sample', async () => {
    const dir = tempDir();
    const deep = '    import posix\n    for i in range(120):\n        posix.mkdir("d" * 50)\n        posix.chdir("d" * 50)\n    return number % 1.0\n';
    const file = completions(dir, [['HumanEval/2', deep], ['HumanEval/0', '    return False\n']]);
    const r = await runCli(['humaneval', '--dataset', HUMANEVAL, '--completions', file, '--problems', 'HumanEval/2,HumanEval/0', '--out', dir, '--no-save', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.records.map((x: { task_id: string; status: string }) => [x.task_id, x.status])).toEqual([['HumanEval/0', 'failed'], ['HumanEval/2', 'passed']]);
  });
});
