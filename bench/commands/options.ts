// Options several commands share, and turning them into engine settings.
import type { Argv } from 'yargs';
import type { EngineOptions, SamplingOptions } from '../engine/engine.js';

export function withEngineOptions<T>(y: Argv<T>) {
  return y
    .option('model', { type: 'string', demandOption: true, describe: 'local HF model folder or Hub repo id (resolved in the local HF cache, never downloaded)' })
    .option('resident', { type: 'boolean', default: false, describe: 'keep every layer in memory after its first load (in-memory baseline)' })
    .option('prefetch', { type: 'boolean', default: true, describe: 'read layer i+1 while layer i computes (--no-prefetch to turn off)' })
    .option('threads', { type: 'number', default: 0, describe: 'compute threads (0 = one per hardware thread)' });
}

export function engineOptions(a: { resident: boolean; prefetch: boolean; threads: number }): EngineOptions {
  return { resident: a.resident, prefetch: a.prefetch, threads: a.threads };
}

export function withSamplingOptions<T>(y: Argv<T>) {
  return y
    .option('greedy', { type: 'boolean', describe: 'argmax decoding (the default unless --temperature is given)' })
    .option('temperature', { type: 'number', describe: 'sample with this temperature' })
    .option('top-k', { type: 'number', default: 0, describe: 'keep the k most likely tokens (0 = off)' })
    .option('top-p', { type: 'number', default: 1, describe: 'nucleus sampling mass (1 = off)' })
    .option('repetition-penalty', { type: 'number', default: 1, describe: 'transformers-style repetition penalty (1 = off)' })
    .option('seed', { type: 'number', default: 0, describe: 'RNG seed for sampling' })
    .conflicts('greedy', 'temperature');
}

export function samplingOptions(a: {
  greedy?: boolean;
  temperature?: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  seed: number;
}): SamplingOptions {
  return {
    greedy: a.greedy ?? a.temperature === undefined,
    temperature: a.temperature,
    topK: a.topK,
    topP: a.topP,
    repetitionPenalty: a.repetitionPenalty,
    seed: a.seed,
  };
}
