// `rabbit-bench report RESULT.json...`: saved results, drawn again: one self-contained HTML page
// with charts (the default), or any other format on stdout.
import { writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { htmlPage } from '../report/printers/html.js';
import { FORMATS, render, type Format } from '../report/print.js';
import { resultStem } from '../results/files.js';
import { reportOfFile } from '../results/registry.js';
import { outputFormat } from './options.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return y
    .positional('results', { type: 'string', array: true, demandOption: true, describe: 'result files (JSON) of profile, diff, gate, validate, humaneval, cpu-vs-cuda and the benchmarks' })
    .option('format', { choices: FORMATS, default: 'html' as Format, describe: 'html writes a page (--out); the others print on stdout' })
    .option('json', { type: 'boolean', default: false, describe: 'same as --format json: exactly one JSON document on stdout' })
    .option('out', { type: 'string', describe: 'the HTML file; default: beside the result, with .html for .json (several results: <date>-report.html beside the first)' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

function defaultHtmlPath(results: string[]): string {
  const first = resolve(results[0]);
  if (results.length === 1) return join(dirname(first), `${basename(first, extname(first))}.html`);
  return join(dirname(first), `${resultStem('report', `${results.length}-results`)}.html`);
}

async function handler(a: Args): Promise<number> {
  const files = a.results ?? [];
  if (files.length === 0) throw new UserError('name at least one result file', 2);
  const format = outputFormat(a);
  if (a.out !== undefined && format !== 'html') throw new UserError('--out names the HTML page: it goes with --format html', 2);
  const reports = files.map(reportOfFile);
  if (format !== 'html') {
    // One JSON document even for several results: their documents in order.
    process.stdout.write(format === 'json' ? `${JSON.stringify(reports.length === 1 ? reports[0].data : reports.map((r) => r.data))}\n`
      : reports.map((r) => render(r, format)).join('\n'));
    return 0;
  }
  const out = a.out ?? defaultHtmlPath(files);
  try {
    writeFileSync(out, htmlPage(reports));
  } catch (err) {
    throw new UserError(`--out ${out}: cannot write the page (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 2);
  }
  process.stderr.write(`wrote ${out}\n`);
  return 0;
}

export const reportCommand: CommandModule<object, Args> = {
  command: 'report <results..>',
  describe: 'draw saved results again: an HTML page with charts (profile, diff, gate, validate, humaneval, cpu-vs-cuda, benchmarks)',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
