// The HTML report in a real browser: Debian's Chromium, driven by playwright-core. Every result
// kind is made by its own command (or is a committed benchmark result), drawn by
// `rabbit-bench report`, and must load with no console error and no network request, with every
// chart drawn. A screenshot per kind goes to RB_SCREENSHOT_DIR when set (the README's come from
// `npm run report:screenshots`), else to a temporary folder.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchReportBrowser, type PageState, type ReportBrowser } from '../../scripts/chromium.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, REPO_ROOT, STORIES_DIR } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';

const CHROMIUM = chromiumPath();
const tempDir = tempDirs();
const HUMANEVAL = resolve(REPO_ROOT, '..', 'shared', 'datasets', 'HumanEval.jsonl.gz');
const SUITE = !CHROMIUM ? 'html report in Chromium (skipped: no Chromium: apt-get install chromium, or set RB_CHROMIUM)'
  : !HAS_STORIES || !existsSync(HUMANEVAL) ? 'html report in Chromium (skipped: ../shared/models/stories260K or ../shared/datasets is absent)'
    : 'html report in Chromium';

/** Each kind's charts, by id: a page must draw all of them. */
const CHARTS: Record<string, string[]> = {
  profile: ['units', 'steps', 'runs'],
  diff: ['changes'],
  gate: ['changes'],
  validate: ['matrix'],
  humaneval: ['pass-rate', 'problems'],
  'cpu-vs-cuda': ['size'],
  'vs-hf': ['decode', 'prefill'],
  'vs-llama-cpp': ['decode', 'prefill'],
};

/** The newest committed result of a benchmark: real measurements to draw. */
const newest = (folder: string) => join(REPO_ROOT, 'results', folder, readdirSync(join(REPO_ROOT, 'results', folder)).filter((f) => f.endsWith('.json')).sort().at(-1)!);
const savedIn = (dir: string, pattern: RegExp) => join(dir, readdirSync(dir).find((f) => pattern.test(f))!);

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

describe.skipIf(!CHROMIUM || !HAS_STORIES || !existsSync(HUMANEVAL))(SUITE, () => {
  let dir: string;
  let browser: ReportBrowser;
  const results: Record<string, string> = {};
  let state: PageState;

  beforeAll(async () => {
    dir = tempDir('rb-html-');
    const profile = ['profile', '--model', STORIES_DIR, '--runs', '3', '--warmup', '1', '--prompt-tokens', '16', '--max-new-tokens', '8', '--no-measure-env'];
    await cli([...profile, '--out', dir, '--html', '--trace', join(dir, 'trace.json')]);
    results.profile = join(dir, readdirSync(dir).find((f) => f.endsWith('.json') && f.includes('-profile-'))!);
    const current = join(dir, 'current.json');
    writeFileSync(current, await cli([...profile, '--no-save', '--json']));
    results.diff = join(dir, 'diff.json');
    writeFileSync(results.diff, await cli(['diff', results.profile, current, '--format', 'json']));
    results.gate = join(dir, 'gate.json');
    // The verdict (exit 0 or 1) depends on the machine's noise; the page must draw either.
    const gate = await runCli(['gate', '--baseline', results.profile, '--current', current, '--force', '--format', 'json']);
    expect([0, 1], gate.stderr).toContain(gate.status);
    writeFileSync(results.gate, gate.stdout);
    await cli(['validate', '--fixtures', 'llama-tied-gqa-f32,qwen2-gqa-tied-bf16', '--no-live', '--out', join(dir, 'validate')]);
    results.validate = savedIn(join(dir, 'validate'), /-validate-.*\.json$/);
    // The canonical solutions: the page needs records to draw, not a model's skill.
    await cli(['humaneval', '--dataset', HUMANEVAL, '--oracle', '--limit', '6', '--out', join(dir, 'humaneval')]);
    results.humaneval = savedIn(join(dir, 'humaneval'), /\.json$/);
    await cli(['cpu-vs-cuda', '--model', STORIES_DIR, '--runs', '2', '--prompt-tokens', '16', '--max-new-tokens', '8', '--no-measure-env', '--out', join(dir, 'cuda')]);
    results['cpu-vs-cuda'] = savedIn(join(dir, 'cuda'), /-cpu-vs-cuda-.*\.json$/);
    results['vs-hf'] = newest('vs-hf');
    results['vs-llama-cpp'] = newest('vs-llama-cpp');
    await cli(['report', ...Object.values(results), '--out', join(dir, 'all.html')]);
    browser = await launchReportBrowser(CHROMIUM!);
    state = await browser.open(join(dir, 'all.html'));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('loads with no console error and asks the network for nothing', () => {
    expect(state.consoleErrors).toEqual([]);
    expect(state.failedRequests).toEqual([]);
    expect(state.sections).toEqual(Object.keys(results));
  });

  it('draws every chart of every kind', () => {
    for (const [i, kind] of Object.keys(results).entries()) {
      const charts = state.charts.filter((c) => c.kind === kind);
      expect(charts.map((c) => c.id), kind).toEqual(CHARTS[kind].map((id) => `chart-${i}-${id}`));
      for (const c of charts) {
        expect(c.initialised, c.id).toBe(true);
        expect(c.width, c.id).toBeGreaterThan(200);
        expect(c.height, c.id).toBeGreaterThan(100);
        // Axes, labels and at least a few marks: an empty chart draws a handful of shapes at most.
        expect(c.shapes, c.id).toBeGreaterThan(20);
      }
    }
  });

  it('a screenshot per kind', async () => {
    const out = process.env.RB_SCREENSHOT_DIR ?? tempDir('rb-shots-');
    mkdirSync(out, { recursive: true });
    for (const kind of Object.keys(results)) {
      const file = join(out, `report-${kind}.png`);
      await browser.screenshot(file, kind);
      expect(statSync(file).size, kind).toBeGreaterThan(10_000);
    }
  });

  it('profile --html wrote the same kind of page beside its JSON, and it loads cleanly', async () => {
    const html = results.profile.replace(/\.json$/, '.html');
    expect(existsSync(html)).toBe(true);
    const own = await browser.open(html);
    expect(own.consoleErrors).toEqual([]);
    expect(own.charts.map((c) => c.id)).toEqual(CHARTS.profile.map((id) => `chart-0-${id}`));
    expect(own.charts.every((c) => c.initialised && c.shapes > 20)).toBe(true);
  });
});
