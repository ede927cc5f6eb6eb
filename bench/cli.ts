#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { cpuVsCudaCommand } from './commands/cpu-vs-cuda.js';
import { diffCommand } from './commands/diff.js';
import { envCommand } from './commands/env.js';
import { gateCommand } from './commands/gate.js';
import { generateCommand } from './commands/generate.js';
import { humanevalCommand } from './commands/humaneval.js';
import { mergeCommand } from './commands/merge.js';
import { parityCommand } from './commands/parity.js';
import { profileCommand } from './commands/profile.js';
import { quantizeCommand } from './commands/quantize.js';
import { reportCommand } from './commands/report.js';
import { synthCommand } from './commands/synth.js';
import { validateCommand } from './commands/validate.js';

try {
  await yargs(hideBin(process.argv))
    .scriptName('rabbit-bench')
    .command(profileCommand)
    .command(generateCommand)
    .command(parityCommand)
    .command(synthCommand)
    .command(quantizeCommand)
    .command(envCommand)
    .command(diffCommand)
    .command(gateCommand)
    .command(validateCommand)
    .command(humanevalCommand)
    .command(cpuVsCudaCommand)
    .command(mergeCommand)
    .command(reportCommand)
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .fail((message, error, y) => {
      if (error) throw error;
      process.stderr.write(`${y.help()}\n\nrabbit-bench: ${message}\n`);
      process.exit(2);
    })
    .help()
    .parseAsync();
} catch (err) {
  // yargs rethrows an option's own check (a coerce, which names the option) as a YError: usage.
  if ((err as Error).name !== 'YError') throw err;
  process.stderr.write(`rabbit-bench: error: ${(err as Error).message}\n`);
  process.exitCode = 2;
}
