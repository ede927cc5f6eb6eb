// `rabbit-bench env`: the machine, the engine build and measured memory and disk bandwidth,
// as a table or as exactly one JSON document.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { collectEnvironment } from '../env/environment.js';
import { formatReport } from '../env/format.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return y
    .option('measure', { type: 'boolean', default: true, describe: 'measure memory and disk read bandwidth, a few seconds (--no-measure to skip)' })
    .option('disk-dir', { type: 'string', describe: 'folder whose storage to locate and measure; the model folder is the honest choice (default: the OS temp folder)' })
    .option('json', { type: 'boolean', default: false, describe: 'print exactly one JSON document on stdout' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

async function handler(a: Args): Promise<number> {
  const report = await collectEnvironment({ measure: a.measure, diskDir: a.diskDir });
  process.stdout.write(a.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  return 0;
}

export const envCommand: CommandModule<object, Args> = {
  command: 'env',
  describe: 'describe this machine and the engine build, and measure memory and disk bandwidth',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
