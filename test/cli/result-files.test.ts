// Result files appear whole or not at all, and never replace one another.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeResultFiles } from '../../bench/results/files.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, REPO_ROOT, STORIES_DIR, STORIES_SUITE } from '../helpers/paths.js';
import { runCommand } from '../helpers/run.js';

const temps: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-results-'));
  temps.push(dir);
  return dir;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

const CLI = join(REPO_ROOT, 'dist', 'bench', 'cli.js');
const PROFILE = ['profile', '--model', STORIES_DIR, '--runs', '1', '--max-new-tokens', '2', '--prompt-tokens', '4', '--no-measure-env'];

/** Whether this machine lets an unprivileged user namespace mount a tmpfs (a disk to fill). */
const CAN_MOUNT_TMPFS = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-mount-probe-'));
  const ok = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=8k tmpfs "$1"', 'sh', dir]).status === 0;
  rmSync(dir, { recursive: true, force: true });
  return ok;
})();

describe('result files', () => {
  it('a second result with the same name gets a suffix; the first stays as it was', () => {
    const dir = temp();
    const first = writeResultFiles(dir, 'stem', { json: { n: 1 }, csv: 'a\n', md: '# 1\n' });
    const second = writeResultFiles(dir, 'stem', { json: { n: 2 }, csv: 'b\n', md: '# 2\n' });
    expect(first.json).toBe(join(dir, 'stem.json'));
    expect(second).toEqual({ json: join(dir, 'stem-2.json'), csv: join(dir, 'stem-2.csv'), md: join(dir, 'stem-2.md') });
    expect(JSON.parse(readFileSync(first.json, 'utf8'))).toEqual({ n: 1 });
    expect(readFileSync(second.csv, 'utf8')).toBe('b\n');
    // No temporary file is left behind.
    expect(readdirSync(dir).sort()).toEqual(['stem-2.csv', 'stem-2.json', 'stem-2.md', 'stem.csv', 'stem.json', 'stem.md']);
  });

  it('a name taken by any one of the three files moves all three to the next suffix', () => {
    const dir = temp();
    writeResultFiles(dir, 'x', { json: {}, csv: '', md: '' });
    rmSync(join(dir, 'x.json'));
    const next = writeResultFiles(dir, 'x', { json: {}, csv: '', md: '' });
    expect(next.json).toBe(join(dir, 'x-2.json'));
    expect(readdirSync(dir)).not.toContain('x.json');
  });

  it('--out naming a file that is not a folder is refused before anything is measured', async () => {
    const r = await runCli([...PROFILE, '--out', '/dev/full']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--out \/dev\/full is not a folder/);
    expect(r.stdout).toBe('');
  });
});

describe.skipIf(!HAS_STORIES)(`profile results (${STORIES_SUITE})`, () => {
  it('two profile runs into one folder at the same time keep both results', async () => {
    const dir = temp();
    const run = () =>
      new Promise<number | null>((done) => {
        const child = spawn(process.execPath, [CLI, ...PROFILE, '--out', dir], { stdio: 'ignore' });
        child.on('close', done);
      });
    expect(await Promise.all([run(), run()])).toEqual([0, 0]);
    const jsons = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(jsons).toHaveLength(2);
    expect(readdirSync(dir)).toHaveLength(6);
    for (const f of jsons) expect(JSON.parse(readFileSync(join(dir, f), 'utf8')).command).toBe('profile');
  });

  it.skipIf(!CAN_MOUNT_TMPFS)('a full disk leaves no torn file under a result name and exits 2 saying so (needs unshare to mount a tmpfs)', async () => {
    const dir = temp();
    const script = 'dir="$1"; shift; mount -t tmpfs -o size=8k tmpfs "$dir" && "$@" >/dev/null; rc=$?; ls -A "$dir"; exit $rc';
    const r = await runCommand('unshare', ['-rm', 'sh', '-c', script, 'sh', dir, process.execPath, CLI, ...PROFILE, '--out', dir]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/cannot write the result to .*ENOSPC \(the disk is full\); no result file was written/);
    // `ls -A` inside the namespace, where the full tmpfs is mounted: nothing, not even a temp file.
    expect(r.stdout).toBe('');
  });
});
