import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../bench/bench-args.js';

describe('the bench:* command line', () => {
  const parse = (args: string[]) => parseBenchArgs({ rounds: 3, 'prompt-tokens': 512 }, { out: 'results/x', model: undefined }, args);

  it('defaults, given values and absent strings', () => {
    expect(parse([])).toEqual({ numbers: { rounds: 3, 'prompt-tokens': 512 }, strings: { out: 'results/x', model: undefined } });
    expect(parse(['--rounds', '5', '--model', '/m', '--out=o'])).toEqual({ numbers: { rounds: 5, 'prompt-tokens': 512 }, strings: { out: 'o', model: '/m' } });
  });

  it('a count below 1 or not whole, and an unknown option, are usage errors (exit 2)', () => {
    for (const [args, message] of [[['--rounds', '0'], /--rounds must be a whole number >= 1/], [['--prompt-tokens', '1.5'], /--prompt-tokens must be/], [['--bogus'], /Unknown option '--bogus'/]] as const) {
      expect(() => parse([...args])).toThrow(message);
      try {
        parse([...args]);
      } catch (err) {
        expect((err as { exitCode?: number }).exitCode).toBe(2);
      }
    }
  });
});
