// npm run report:screenshots -- --results A.json,B.json,... [--out results/report]: draws each
// saved result as its own HTML page (what `rabbit-bench report` writes; in a temporary folder, as
// each page holds a copy of ECharts) and takes a screenshot of it in Debian's Chromium:
// <out>/<kind>.png, the pictures the README shows.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseBenchArgs } from '../bench/bench-args.js';
import { runCommand } from '../bench/commands/run.js';
import { UserError } from '../bench/errors.js';
import { htmlPage } from '../bench/report/printers/html.js';
import { prepareOutDir } from '../bench/results/files.js';
import { reportOfFile } from '../bench/results/registry.js';
import { chromiumPath, launchReportBrowser } from './chromium.js';

async function main(): Promise<number> {
  const { strings } = parseBenchArgs({}, { results: undefined, out: 'results/report' });
  const files = (strings.results ?? '').split(',').filter(Boolean);
  if (files.length === 0) throw new UserError('--results needs at least one result file', 2);
  const chromium = chromiumPath();
  if (!chromium) throw new UserError('no Chromium here: apt-get install chromium, or set RB_CHROMIUM', 2);
  const out = resolve(strings.out!);
  prepareOutDir(out);
  const pages = mkdtempSync(join(tmpdir(), 'rb-screenshots-'));
  const browser = await launchReportBrowser(chromium);
  try {
    for (const file of files) {
      const report = reportOfFile(file);
      const page = join(pages, `${report.kind}.html`);
      writeFileSync(page, htmlPage([report]));
      const state = await browser.open(page);
      const problems = [...state.consoleErrors, ...state.failedRequests, ...state.charts.filter((c) => !c.initialised || c.shapes === 0).map((c) => `${c.id} not drawn`)];
      if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
      await browser.screenshot(join(out, `${report.kind}.png`), report.kind);
      process.stderr.write(`wrote ${join(out, `${report.kind}.png`)} (${state.charts.length} charts)\n`);
    }
  } finally {
    await browser.close();
    rmSync(pages, { recursive: true, force: true });
  }
  return 0;
}

await runCommand(main);
