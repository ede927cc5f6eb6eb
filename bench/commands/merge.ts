// `rabbit-bench merge FILES…`: the results of a sharded humaneval or validate run as one.
import { resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { mergeResults } from '../merge/merge.js';
import { mergeReport } from '../merge/report.js';
import { render, saveReport } from '../report/print.js';
import { prepareOutDir } from '../results/files.js';
import { outputFormat, withFormatOptions, withSaveOptions } from './options.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return withSaveOptions(withFormatOptions(y))
    .positional('files', { type: 'string', array: true, demandOption: true, describe: 'the JSON result of every shard (humaneval or validate, --shard K/N)' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

async function handler(a: Args): Promise<number> {
  if (a.save) prepareOutDir(resolve(a.out));
  const merged = mergeResults((a.files ?? []).map(String));
  const report = mergeReport(merged.result);
  if (a.save) {
    const written = saveReport(report, a.out, `${merged.kind}-${merged.result.parts.length}-shards`);
    process.stderr.write(`wrote ${written.json}, ${written.csv}, ${written.md}\n`);
  }
  process.stdout.write(render(report, outputFormat(a)));
  return merged.kind === 'validate' && !merged.result.pass ? 1 : 0;
}

export const mergeCommand: CommandModule<object, Args> = {
  command: 'merge <files..>',
  describe: 'combine the results of a sharded humaneval or validate run (--shard K/N) into one',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
