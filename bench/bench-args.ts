// The command line of the npm run bench:* scripts: whole-number options (rounds, token counts),
// each >= 1 with its default, and string options, parsed strictly and checked in one place.
import { parseArgs } from 'node:util';
import { UserError } from './errors.js';

export interface BenchArgs<N extends string, S extends string> {
  numbers: Record<N, number>;
  strings: Record<S, string | undefined>;
}

export function parseBenchArgs<N extends string, S extends string>(numbers: Record<N, number>, strings: Record<S, string | undefined>, args = process.argv.slice(2)): BenchArgs<N, S> {
  const options: Record<string, { type: 'string'; default?: string }> = {};
  for (const [name, v] of Object.entries<number>(numbers)) options[name] = { type: 'string', default: String(v) };
  for (const [name, v] of Object.entries<string | undefined>(strings)) options[name] = v === undefined ? { type: 'string' } : { type: 'string', default: v };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options, strict: true }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new UserError((err as Error).message, 2);
  }
  const parsed = {} as Record<N, number>;
  for (const name of Object.keys(numbers) as N[]) {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < 1) throw new UserError(`--${name} must be a whole number >= 1`, 2);
    parsed[name] = v;
  }
  const text = {} as Record<S, string | undefined>;
  for (const name of Object.keys(strings) as S[]) text[name] = values[name] as string | undefined;
  return { numbers: parsed, strings: text };
}
