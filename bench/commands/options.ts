// Options several commands share, and turning them into engine settings.
import type { Argv } from 'yargs';
import { DEFAULT_EXPERT_CACHE_BYTES, DEFAULT_IO, type EngineOptions, type SamplingOptions } from '../engine/engine.js';
import { IO_MODES, type IoMode } from '../engine/native.js';
import { UserError } from '../errors.js';
import { FORMATS, type Format } from '../report/print.js';

/** Compute threads beyond this are a typo, not a machine (each one is an OS thread and a stack). */
export const MAX_THREADS = 1024;
/** New tokens or prompt tokens beyond this are a typo: the KV cache alone would not fit. */
export const MAX_TOKENS = 1_000_000;

/**
 * A yargs coerce for a whole-number option in [min, max], whose message names the option; the
 * engine narrows numbers to 32 bits, so nothing outside the range may reach it.
 */
export function wholeNumber(name: string, min: number, max: number) {
  return (v: number): number => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new UserError(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`, 2);
    }
    return v;
  };
}

export const threadsOption = (describe: string) =>
  ({ type: 'number', default: 0, describe, coerce: wholeNumber('threads', 0, MAX_THREADS) }) as const;
export const newTokensOption = (defaultValue: number, min = 0, describe?: string) =>
  ({ type: 'number', default: defaultValue, describe, coerce: wholeNumber('max-new-tokens', min, MAX_TOKENS) }) as const;

export const ioOption = {
  choices: IO_MODES,
  default: DEFAULT_IO,
  describe: 'how streamed layers are read: pread (copy from the page cache), mmap (in place from the mapped file), direct (O_DIRECT, around the page cache)',
} as const;

/** A cache this large (16 TiB) is a typo. */
const MAX_EXPERT_CACHE_MIB = 2 ** 24;

export function withExpertOptions<T>(y: Argv<T>) {
  return y
    .option('expert-streaming', {
      type: 'boolean',
      default: true,
      describe: 'mixture-of-experts models: read each expert when the router picks it (--no-expert-streaming: whole layers, every expert)',
    })
    .option('expert-cache', {
      type: 'number',
      default: DEFAULT_EXPERT_CACHE_BYTES / 2 ** 20,
      describe: 'MiB of experts kept between uses, least recently used out (--resident keeps them all)',
      coerce: wholeNumber('expert-cache', 0, MAX_EXPERT_CACHE_MIB),
    });
}

export function expertOptions(a: { expertStreaming: boolean; expertCache: number }): Pick<EngineOptions, 'expertStreaming' | 'expertCacheBytes'> {
  return { expertStreaming: a.expertStreaming, expertCacheBytes: a.expertCache * 2 ** 20 };
}

export function withEngineOptions<T>(y: Argv<T>) {
  return withExpertOptions(y)
    .option('model', { type: 'string', demandOption: true, describe: 'local HF model folder or Hub repo id (resolved in the local HF cache, never downloaded)' })
    .option('resident', { type: 'boolean', default: false, describe: 'keep every layer in memory after its first load (in-memory baseline)' })
    .option('prefetch', { type: 'boolean', default: true, describe: 'read layer i+1 while layer i computes (--no-prefetch to turn off)' })
    .option('threads', threadsOption('compute threads (0 = one per hardware thread; streamed decode steps leave one to the prefetch thread)'))
    .option('io', ioOption);
}

export function engineOptions(a: {
  resident: boolean;
  prefetch: boolean;
  threads: number;
  io: IoMode;
  expertStreaming: boolean;
  expertCache: number;
}): EngineOptions {
  return { resident: a.resident, prefetch: a.prefetch, threads: a.threads, io: a.io, ...expertOptions(a) };
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

/** Options of commands that measure repeated generations and write result files (profile, cpu-vs-cuda). */
export function withMeasureOptions<T>(y: Argv<T>) {
  return withSaveOptions(withFormatOptions(y))
    .option('pin-memory', { type: 'boolean', default: true, describe: 'CUDA: read layers into pinned host memory (--no-pin-memory: pageable)' })
    .option('async-transfer', { type: 'boolean', default: true, describe: 'CUDA: copy layer i+1 to the GPU while layer i computes (--no-async-transfer: synchronous copies)' })
    .option('prompt', { type: 'string', describe: 'prompt text (needs the model tokenizer)' })
    .option('prompt-tokens', { type: 'number', default: 64, describe: 'prompt length in tokens when no --prompt is given', coerce: wholeNumber('prompt-tokens', 1, MAX_TOKENS) })
    .option('max-new-tokens', newTokensOption(16, 1))
    .option('prefetch', { type: 'boolean', default: true, describe: 'read layer i+1 while layer i computes (--no-prefetch to turn off)' })
    .option('measure-env', { type: 'boolean', default: true, describe: 'measure memory and disk read bandwidth for the result file (--no-measure-env skips ~2 s)' });
}

/** What stdout shows: every command's --format, with --json kept as its alias. */
export function withFormatOptions<T>(y: Argv<T>) {
  return y
    .option('format', { choices: FORMATS, default: 'table' as Format, describe: 'what stdout shows' })
    .option('json', { type: 'boolean', default: false, describe: 'same as --format json: exactly one JSON document on stdout' });
}

export const outputFormat = (a: { format: Format; json: boolean }): Format => (a.json ? 'json' : a.format);

/** Where result files go, for every command that writes them. */
export function withSaveOptions<T>(y: Argv<T>, out = 'results') {
  return y
    .option('out', { type: 'string', default: out, describe: 'folder for the JSON, CSV and Markdown result files' })
    .option('save', { type: 'boolean', default: true, describe: 'write result files (--no-save to skip)' });
}
