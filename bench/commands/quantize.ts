// `rabbit-bench quantize`: a model written as a GGUF file of a llama-quantize style type mix.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { QUANT_MIXES } from '../quantize/mix.js';
import { quantizeModel } from '../quantize/quantize.js';
import { quantizeReport } from '../quantize/report.js';
import { render } from '../report/print.js';
import { outputFormat, withFormatOptions } from './options.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return withFormatOptions(y)
    .option('model', { type: 'string', demandOption: true, describe: 'model folder, GGUF file or Hub repo id to quantize' })
    .option('type', { type: 'string', demandOption: true, describe: `type mix: ${QUANT_MIXES.join(', ')}` })
    .option('out', { type: 'string', demandOption: true, describe: 'the .gguf file to write' })
    .option('force', { type: 'boolean', default: false, describe: 'replace --out if it exists' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

async function handler(a: Args): Promise<number> {
  const result = quantizeModel({ model: a.model, type: a.type, out: a.out, force: a.force });
  process.stdout.write(render(quantizeReport(result), outputFormat(a)));
  return 0;
}

export const quantizeCommand: CommandModule<object, Args> = {
  command: 'quantize',
  describe: 'write a model as a quantized GGUF file (Q8_0, Q4_K_M, ...), to stream fewer bytes',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
