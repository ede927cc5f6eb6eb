// `rabbit-bench diff BASE.json CURRENT.json`: what changed between two profiles, with intervals.
import { appendFileSync } from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { diffProfiles } from '../compare/diff.js';
import { diffReport } from '../compare/render.js';
import { render } from '../report/print.js';
import { outputFormat, withFormatOptions } from './options.js';
import { UserError } from '../errors.js';
import { readProfileFile } from '../results/read.js';
import { runCommand } from './run.js';

export function parseThreshold(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  const v = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(v > 0 && v < 1)) throw new UserError(`--threshold must be like 5% or 0.05 (between 0 and 100%), got "${text}"`, 2);
  return v;
}

function builder(y: Argv) {
  return withFormatOptions(y)
    .positional('base', { type: 'string', demandOption: true, describe: 'baseline profile result (JSON)' })
    .positional('current', { type: 'string', demandOption: true, describe: 'current profile result (JSON)' })
    .option('threshold', { type: 'string', default: '5%', describe: 'smallest change that matters' })
    .option('metric', { type: 'array', string: true, describe: 'only these metrics (ids or prefixes: wall_ms, ttft_ms, decode_tok_per_s, phase, layer, ...)' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

/** Appends Markdown to the GitHub Actions job summary when running there. */
export function appendStepSummary(markdown: string): void {
  const path = process.env.GITHUB_STEP_SUMMARY;
  if (path) appendFileSync(path, `${markdown}\n`);
}

async function handler(a: Args): Promise<number> {
  const threshold = parseThreshold(a.threshold);
  const diff = diffProfiles(readProfileFile(a.base!), readProfileFile(a.current!), { threshold, metrics: a.metric });
  const report = diffReport(diff);
  process.stdout.write(render(report, outputFormat(a)));
  appendStepSummary(render(report, 'md'));
  return 0;
}

export const diffCommand: CommandModule<object, Args> = {
  command: 'diff <base> <current>',
  describe: 'compare two profile results metric by metric, with confidence intervals',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
