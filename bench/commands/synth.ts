// `rabbit-bench synth`: writes a random-weight checkpoint with a real model's shapes (optionally
// fewer layers), so the engine can be timed on 7B/70B-shaped layers without downloading them.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DTYPE_FLAGS } from '../model/dtype.js';
import { QUANT_MIXES } from '../quantize/mix.js';
import { render } from '../report/print.js';
import { synthReport } from '../synth/report.js';
import { runSynth } from '../synth/run.js';
import { shapeList } from '../synth/shape-list.js';
import { shapeNames } from '../synth/shapes.js';
import { outputFormat, withFormatOptions } from './options.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return withFormatOptions(y)
    .option('shape', { type: 'string', describe: `take the shape of a real model: ${shapeNames().join(', ')}` })
    .option('config', { type: 'string', describe: 'take the shape from this Hugging Face config.json instead' })
    .option('layers', { type: 'number', describe: 'keep only the first N decoder layers (default: all of them)' })
    .option('dtype', { type: 'string', choices: Object.keys(DTYPE_FLAGS), describe: "weight dtype (default: the config's torch_dtype)" })
    .option('shards', { type: 'number', default: 1, describe: 'split the layers over N safetensors files (N ≤ layers)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the random weights, an integer in [0, 2^32)' })
    .option('out', { type: 'string', describe: 'folder to write (absent or empty), or FILE.gguf for one GGUF file' })
    .option('force', { type: 'boolean', default: false, describe: 'replace a checkpoint that synth wrote to --out before' })
    .option('list-shapes', { type: 'boolean', default: false, describe: 'list the known shapes and exit' })
    .option('type', { type: 'string', describe: `GGUF type mix (--out FILE.gguf): ${QUANT_MIXES.join(', ')} (default: the --dtype)` })
    .conflicts('shape', 'config');
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

async function handler(a: Args): Promise<number> {
  const doc = a.listShapes
    ? shapeList()
    : runSynth({ shape: a.shape, config: a.config, layers: a.layers, dtype: a.dtype, shards: a.shards, seed: a.seed, out: a.out, force: a.force, type: a.type });
  process.stdout.write(render(synthReport(doc), outputFormat(a)));
  return 0;
}

export const synthCommand: CommandModule<object, Args> = {
  command: 'synth',
  describe: "write a random-weight checkpoint with a real model's shapes",
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
