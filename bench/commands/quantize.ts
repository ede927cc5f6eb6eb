// `rabbit-bench quantize`: a model written as a GGUF file of a llama-quantize style type mix.
import Table from 'cli-table3';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { QUANT_MIXES } from '../quantize/mix.js';
import { quantizeModel, type QuantizeReport } from '../quantize/quantize.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return y
    .option('model', { type: 'string', demandOption: true, describe: 'model folder, GGUF file or Hub repo id to quantize' })
    .option('type', { type: 'string', demandOption: true, describe: `type mix: ${QUANT_MIXES.join(', ')}` })
    .option('out', { type: 'string', demandOption: true, describe: 'the .gguf file to write' })
    .option('force', { type: 'boolean', default: false, describe: 'replace --out if it exists' })
    .option('json', { type: 'boolean', default: false, describe: 'print exactly one JSON document on stdout' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

const MiB = 2 ** 20;

function printReport(r: QuantizeReport): void {
  const table = new Table({ head: ['type', 'tensors'] });
  for (const [type, n] of Object.entries(r.tensor_types).sort((a, b) => b[1] - a[1])) table.push([type, n]);
  process.stdout.write(`${table.toString()}\n`);
  for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
  if (r.notes.length > 0) process.stdout.write(`${r.notes.length} tensors fell back to another type (e.g. ${r.notes[0]})\n`);
  process.stdout.write(
    `wrote ${r.out} (${r.type}, ${(r.bytes / MiB).toFixed(1)} MiB) from ${r.source.format} ${r.source.dtype} ` +
      `(${(r.source.bytes / MiB).toFixed(1)} MiB) in ${r.seconds.toFixed(1)} s\n` +
      `a decode token reads ${(r.decode_bytes_per_token / MiB).toFixed(1)} MiB of weights, ` +
      `${r.decode_bytes_ratio.toFixed(3)}x the source's ${(r.source.decode_bytes_per_token / MiB).toFixed(1)} MiB\n`,
  );
}

async function handler(a: Args): Promise<number> {
  const report = quantizeModel({ model: a.model, type: a.type, out: a.out, force: a.force });
  if (a.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else printReport(report);
  return 0;
}

export const quantizeCommand: CommandModule<object, Args> = {
  command: 'quantize',
  describe: 'write a model as a quantized GGUF file (Q8_0, Q4_K_M, ...), to stream fewer bytes',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
