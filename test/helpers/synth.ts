import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli } from './cli.js';

/** A SmolLM2-135M-shaped bf16 checkpoint of `layers` layers, written by `rabbit-bench synth` into a new folder of `dir`. */
export async function synthSmolLm2(dir: string, layers: number): Promise<string> {
  const model = join(dir, 'm');
  const synth = await runCli(['synth', '--shape', 'smollm2-135m', '--layers', String(layers), '--dtype', 'bf16', '--out', model]);
  expect(synth.status, synth.stderr).toBe(0);
  return model;
}
