// `rabbit-bench env`: the machine, the engine build and measured memory and disk bandwidth.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { collectEnvironment } from '../env/environment.js';
import { envDoc, envReport } from '../env/report.js';
import { render } from '../report/print.js';
import { outputFormat, withFormatOptions } from './options.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return withFormatOptions(y)
    .option('measure', { type: 'boolean', default: true, describe: 'measure memory and disk read bandwidth, a few seconds (--no-measure to skip)' })
    .option('disk-dir', { type: 'string', describe: 'folder whose storage to locate and measure; the model folder is the honest choice (default: the OS temp folder)' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

async function handler(a: Args): Promise<number> {
  const doc = envDoc(await collectEnvironment({ measure: a.measure, diskDir: a.diskDir }));
  process.stdout.write(render(envReport(doc), outputFormat(a)));
  return 0;
}

export const envCommand: CommandModule<object, Args> = {
  command: 'env',
  describe: 'describe this machine and the engine build, and measure memory and disk bandwidth',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
