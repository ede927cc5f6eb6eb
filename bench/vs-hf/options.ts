// Command-line options of `npm run bench:vs-hf`, parsed and checked without touching the machine.
import yargs from 'yargs';
import { UserError } from '../errors.js';
import { getShape } from '../synth/shapes.js';
import { DTYPES, type DtypeFlag } from './schema.js';

export interface VsHfOptions {
  models: string[];
  dtypes: DtypeFlag[];
  rounds: number;
  decodeTokens: number;
  promptTokens: number;
  /** Python with torch and transformers; undefined = .venv-hf if present. */
  python: string | undefined;
  /** False with --no-hf: the engine alone. */
  hf: boolean;
  out: string;
}

export const DEFAULT_MODELS = ['smollm2-135m', 'qwen2.5-0.5b'];

function list(raw: string, flag: string): string[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new UserError(`${flag} needs at least one name`, 2);
  return [...new Set(items)];
}

function whole(v: number, flag: string, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new UserError(`${flag} must be a whole number >= ${min}, got ${v}`, 2);
  return v;
}

export function parseVsHfArgs(argv: string[]): VsHfOptions {
  const a = yargs(argv)
    .scriptName('npm run bench:vs-hf --')
    .usage('$0 [options]: the engine (resident and streaming) vs transformers (eager and sdpa), interleaved, on synthetic models')
    .option('models', { type: 'string', default: DEFAULT_MODELS.join(','), describe: 'comma-separated synth shapes' })
    .option('dtypes', { type: 'string', default: Object.keys(DTYPES).join(','), describe: 'comma-separated checkpoint dtypes (f32, bf16)' })
    .option('rounds', { type: 'number', default: 3, describe: 'interleaved rounds; each runs every configuration once; medians are reported' })
    .option('decode-tokens', { type: 'number', default: 32, describe: 'decode steps timed after the prefill' })
    .option('prompt-tokens', { type: 'number', default: 512, describe: 'prompt length timed as the prefill' })
    .option('python', { type: 'string', describe: 'Python with torch and transformers (default: .venv-hf/bin/python if it exists)' })
    .option('hf', { type: 'boolean', default: true, describe: 'measure transformers (--no-hf: the engine alone)' })
    .option('out', { type: 'string', default: 'results/vs-hf', describe: 'folder for the JSON, Markdown and CSV results' })
    .strict()
    .fail((msg, err) => {
      throw err ?? new UserError(msg, 2);
    })
    .help()
    .parseSync();
  const models = list(a.models, '--models');
  for (const m of models) getShape(m);
  const dtypes = list(a.dtypes, '--dtypes');
  for (const d of dtypes) {
    if (!Object.hasOwn(DTYPES, d)) throw new UserError(`--dtypes: unknown dtype '${d}' (known: ${Object.keys(DTYPES).join(', ')})`, 2);
  }
  return {
    models,
    dtypes: dtypes as DtypeFlag[],
    rounds: whole(a.rounds, '--rounds', 1),
    decodeTokens: whole(a.decodeTokens, '--decode-tokens', 1),
    promptTokens: whole(a.promptTokens, '--prompt-tokens', 1),
    python: a.python,
    hf: a.hf,
    out: a.out,
  };
}
