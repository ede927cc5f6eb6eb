// npm run bench:vs-llama-cpp: the result file (`rabbit-bench/bench-vs-llama-cpp@1`), validated
// before it is written and when it is read back.
import { z } from 'zod';
import { EnvironmentReportSchema, MemoryBandwidthSchema, RunMetadataSchema } from '../env/types.js';
import { LlamaCppBuildSchema } from '../llama-cpp/schema.js';
import { BuildSchema } from '../vs-hf/schema.js';

export const VS_LLAMA_CPP_SCHEMA = 'rabbit-bench/bench-vs-llama-cpp@1';

/** The order in which every round runs them, per model. */
export const RUNNERS = ['engine-resident', 'engine-streaming', 'llama.cpp'] as const;
export type Runner = (typeof RUNNERS)[number];

const count = z.number().int().nonnegative();
const rate = z.number().finite().nonnegative();

export const VsLlamaModelSchema = z.object({
  shape: z.string(),
  /** The GGUF type mix, e.g. Q8_0. */
  type: z.string(),
  file: z.string(),
  /** Decoder-layer + lm_head bytes a decode token reads. */
  weight_bytes_per_token: count,
});
export type VsLlamaModel = z.infer<typeof VsLlamaModelSchema>;

/** One child process: one runner on one model in one round. */
export const VsLlamaMeasurementSchema = z.object({
  round: count,
  shape: z.string(),
  type: z.string(),
  runner: z.enum(RUNNERS),
  /** Why the child produced no figures; null when it did. */
  error: z.string().nullable(),
  prefill_tok_s: rate.nullable(),
  decode_tok_s: rate.nullable(),
  peak_rss_bytes: count.nullable(),
});
export type VsLlamaMeasurement = z.infer<typeof VsLlamaMeasurementSchema>;

/** One table row: the medians over rounds of one runner on one model. */
export const VsLlamaRowSchema = z.object({
  shape: z.string(),
  type: z.string(),
  runner: z.enum(RUNNERS),
  /** Rounds with figures. */
  rounds: count,
  /** `round N: why` for each round whose child failed. */
  errors: z.array(z.string()),
  prefill_tok_s: rate.nullable(),
  decode_tok_s: rate.nullable(),
  /** Slowest and fastest round: how much whole runs move. */
  decode_range: z.tuple([rate, rate]).nullable(),
  peak_rss_bytes: z.number().nonnegative().nullable(),
  /** Ratios of medians: this row ÷ llama.cpp (same model, same rounds); null where either side is missing. */
  prefill_vs_llama_cpp: rate.nullable(),
  decode_vs_llama_cpp: rate.nullable(),
  /** Memory bandwidth / bytes per token, and the decode rate as a share of it. */
  roofline_tok_s: rate,
  roofline_share: rate.nullable(),
});
export type VsLlamaRow = z.infer<typeof VsLlamaRowSchema>;

export const VsLlamaCppFileSchema = z.object({
  schema: z.literal(VS_LLAMA_CPP_SCHEMA),
  created_at: z.iso.datetime(),
  wall_s: z.number().nonnegative(),
  metadata: RunMetadataSchema,
  environment: EnvironmentReportSchema,
  engine: z.object({ build: BuildSchema, threads: z.number().int().positive() }),
  /** Which llama.cpp ran (null build: none of its runs finished), or why it was not measured. */
  llama_cpp: z.union([
    z.object({ build: LlamaCppBuildSchema.nullable(), from: z.enum(['checkout', 'cache']), entry: z.string() }),
    z.object({ not_measured: z.string() }),
  ]),
  /** STREAM, measured once before the rounds: what the rooflines divide by (triad best). */
  memory_bandwidth: MemoryBandwidthSchema,
  settings: z.object({
    shapes: z.array(z.string()).min(1),
    types: z.array(z.string()).min(1),
    rounds: z.number().int().positive(),
    prompt_tokens: z.number().int().positive(),
    decode_tokens: z.number().int().positive(),
    /** Hardware threads: every runner's compute threads. */
    threads: z.number().int().positive(),
  }),
  models: z.array(VsLlamaModelSchema),
  measurements: z.array(VsLlamaMeasurementSchema),
  rows: z.array(VsLlamaRowSchema),
});
export type VsLlamaCppFile = z.infer<typeof VsLlamaCppFileSchema>;
