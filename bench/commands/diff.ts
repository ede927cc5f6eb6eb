// `rabbit-bench diff BASE.json CURRENT.json`: what changed between two profiles, with intervals.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { diffProfiles } from '../compare/diff.js';
import { diffReport } from '../compare/render.js';
import { render } from '../report/print.js';
import { outputFormat, withFormatOptions } from './options.js';
import { parseThreshold } from '../compare/threshold.js';
import { appendStepSummary } from '../report/step-summary.js';
import { readProfileFile } from '../results/read.js';
import { runMetadata } from '../env/run-metadata.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return withFormatOptions(y)
    .positional('base', { type: 'string', demandOption: true, describe: 'baseline profile result (JSON)' })
    .positional('current', { type: 'string', demandOption: true, describe: 'current profile result (JSON)' })
    .option('threshold', { type: 'string', default: '5%', describe: 'smallest change that matters' })
    .option('metric', { type: 'array', string: true, describe: 'only these metrics (ids or prefixes: wall_ms, ttft_ms, decode_tok_per_s, phase, layer, ...)' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

async function handler(a: Args): Promise<number> {
  const threshold = parseThreshold(a.threshold);
  const diff = { ...diffProfiles(readProfileFile(a.base!), readProfileFile(a.current!), { threshold, metrics: a.metric }), run: runMetadata(process.argv) };
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
