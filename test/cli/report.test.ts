// `rabbit-bench report`: a saved result drawn again is what its command printed (the report is
// rebuilt from the document alone), and a file that is not a result is bad input, exit 2.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR, STORIES_SUITE } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';

const tempDir = tempDirs();

describe('report: bad input', () => {
  const dir = tempDir('rb-report-bad-');
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it.each([
    ['a missing file', () => join(dir, 'nope.json'), /cannot read result file/],
    ['text that is not JSON', () => file('torn.json', '{"schema": "rabbit-bench/diff@1", '), /not valid JSON/],
    ['JSON without a schema tag', () => file('plain.json', '{"a": 1}'), /no "schema" field/],
    ['a schema no report draws', () => file('other.json', '{"schema": "someone-else/thing@3"}'), /have no report/],
    ['a diff document missing its fields', () => file('thin.json', '{"schema": "rabbit-bench/diff@1", "threshold": 0.05}'), /not a valid rabbit-bench diff result/],
  ])('%s: one error line, exit 2', async (_what, path, message) => {
    const r = await runCli(['report', path()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--out goes with the HTML page only', async () => {
    const r = await runCli(['report', file('x.json', '{}'), '--format', 'md', '--out', join(dir, 'x.html')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--out names the HTML page/);
  });
});

describe.skipIf(!HAS_STORIES)(`report: a result drawn again is what its command printed (${STORIES_SUITE})`, () => {
  let dir: string;
  let profile: string;
  let current: string;

  beforeAll(async () => {
    dir = tempDir('rb-report-');
    const args = ['profile', '--model', STORIES_DIR, '--runs', '2', '--warmup', '0', '--prompt-tokens', '8', '--max-new-tokens', '4', '--no-measure-env'];
    expect((await runCli([...args, '--out', dir])).status).toBe(0);
    profile = join(dir, readdirSync(dir).find((f) => f.endsWith('.json'))!);
    current = join(dir, 'current.json');
    const r = await runCli([...args, '--no-save', '--json']);
    expect(r.status, r.stderr).toBe(0);
    writeFileSync(current, r.stdout);
  }, 120_000);

  it('profile: the saved Markdown and CSV come back from the JSON', async () => {
    for (const format of ['md', 'csv']) {
      const r = await runCli(['report', profile, '--format', format]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(readFileSync(profile.replace(/\.json$/, `.${format}`), 'utf8'));
    }
  });

  it('diff and gate: the same tables and notes in every format', async () => {
    for (const [command, extra] of [['diff', [profile, current]], ['gate', ['--baseline', profile, '--current', current, '--force', '--no-save']]] as const) {
      const json = await runCli([command, ...extra, '--format', 'json']);
      expect([0, 1]).toContain(json.status);
      const saved = join(dir, `${command}.json`);
      writeFileSync(saved, json.stdout);
      expect(JSON.parse(json.stdout).schema).toBe(`rabbit-bench/${command}@1`);
      for (const format of ['md', 'table', 'csv']) {
        const printed = (await runCli([command, ...extra, '--format', format])).stdout;
        const again = await runCli(['report', saved, '--format', format]);
        expect(again.status, again.stderr).toBe(0);
        // Only the bootstrap's intervals could differ between two diffs, and they are seeded.
        expect(again.stdout, `${command} ${format}`).toBe(printed);
      }
      // The document itself comes back whole; it names the run that made it.
      const againText = (await runCli(['report', saved, '--format', 'json'])).stdout;
      expect((await runCli(['report', saved, '--json'])).stdout).toBe(againText);
      const again = JSON.parse(againText);
      expect(again).toEqual(JSON.parse(json.stdout));
      expect(again.run.command).toContain(command);
      expect(again.run.git_commit).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('the page goes beside a single result by default; several results make one page', async () => {
    const one = await runCli(['report', profile]);
    expect(one.status, one.stderr).toBe(0);
    expect(existsSync(profile.replace(/\.json$/, '.html'))).toBe(true);
    const out = join(dir, 'both.html');
    const both = await runCli(['report', profile, join(dir, 'diff.json'), '--out', out]);
    expect(both.status, both.stderr).toBe(0);
    const page = readFileSync(out, 'utf8');
    expect(page.match(/<section class="report" data-kind="(\w+)"/g)).toEqual(['<section class="report" data-kind="profile"', '<section class="report" data-kind="diff"']);
  });
});
