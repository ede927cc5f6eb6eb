// The humaneval result document (`rabbit-bench/humaneval@1`): what `--json` prints, the result
// file beside the records, and what `merge` and the report read back (validated with zod).
import { z } from 'zod';
import { EnvironmentReportSchema, RunMetadataSchema } from '../env/types.js';
import { PHASES } from '../profile/phases.js';
import { ModelInfoSchema } from '../results/profile-schema.js';
import { SampleRecordSchema } from './records.js';

export const HUMANEVAL_SCHEMA = 'rabbit-bench/humaneval@1';

const count = z.number().int().nonnegative();

/** What must not change between a run and its --resume; fields of the engine only where it generated. */
export const HumanevalSettingsSchema = z.object({
  dataset: z.string(),
  dataset_sha256: z.string(),
  plus: z.boolean(),
  source: z.enum(['engine', 'oracle', 'completions']),
  completions_file: z.string().optional(),
  completions_sha256: z.string().optional(),
  model: z.string().optional(),
  style: z.enum(['base', 'chat']).optional(),
  max_new_tokens: count.optional(),
  samples: count.optional(),
  sampling: z
    .object({
      greedy: z.boolean().optional(),
      temperature: z.number().optional(),
      topK: z.number().optional(),
      topP: z.number().optional(),
      repetitionPenalty: z.number().optional(),
      seed: z.number().optional(),
    })
    .optional(),
  engine: z.object({ prefetch: z.boolean().optional(), resident: z.boolean().optional(), threads: count.optional() }).optional(),
  generation_timeout_ms: z.number().optional(),
  limits: z.object({ timeout_ms: z.number(), memory_bytes: z.number(), cpu_seconds: z.number(), nproc: count, fsize_bytes: z.number(), nofile: count }),
  hf_compare: z.enum(['live', 'file']).nullable(),
  shard: z.object({ index: count, count: count }).nullable(),
});
export type HumanevalSettings = z.infer<typeof HumanevalSettingsSchema>;

export const SandboxReportSchema = z.object({
  python: z.string(),
  user: z.string(),
  privileges_dropped: z.boolean(),
  network_isolated: z.boolean(),
  pid_namespace: z.boolean(),
  no_new_privs: z.boolean(),
  /** Empty /tmp, /var/tmp and /dev/shm of its own, a fresh /proc, and the tool's folders covered. */
  private_mounts: z.boolean(),
  hidden: z.array(z.string()),
  limits: z.object({ timeout_s: z.number(), memory_bytes: z.number(), cpu_seconds: z.number(), nproc: count, fsize_bytes: z.number(), nofile: count }),
  /** What the sandbox could not do here, in words; empty when everything designed is in force. */
  warnings: z.array(z.string()),
});
export type SandboxReport = z.infer<typeof SandboxReportSchema>;

export const PHASE_KEYS = [...PHASES, 'sampling', 'unaccounted', 'background_load'] as const;

export const GenerationSummarySchema = z.object({
  samples: count,
  prompt_tokens: count,
  generated_tokens: count,
  completion_tokens: count,
  generation_s: z.number(),
  /** Σ generated tokens / Σ generation time, prefill included. */
  tokens_per_s: z.number().nullable(),
  /** Σ decode steps / Σ decode time: the steady-state rate. */
  decode_tokens_per_s: z.number().nullable(),
  stop_reasons: z.object({ stop_sequence: count, eos: count, max_new_tokens: count }),
  phases_ms: z.record(z.enum(PHASE_KEYS), z.number()),
});
export type GenerationSummary = z.infer<typeof GenerationSummarySchema>;

export const HfSummarySchema = z.object({
  compared: count,
  identical: count,
  diverged: z.array(z.object({ task_id: z.string(), first_divergence: z.number().int().nullable(), note: z.string().nullable() })),
});
export type HfSummary = z.infer<typeof HfSummarySchema>;

export const HumanevalSummarySchema = z.object({
  problems: count,
  samples: count,
  passed: count,
  failed: count,
  timeout: count,
  error: count,
  pass_at_k: z.record(z.string(), z.number()),
  /** --plus: the same on the base inputs only (HumanEval's own tests, as EvalPlus reports them). */
  passed_base: count.nullable(),
  pass_at_k_base: z.record(z.string(), z.number()).nullable(),
  /** Most common error kinds (the exception name) among samples that did not pass. */
  error_kinds: z.array(z.object({ kind: z.string(), count: count })),
  exec_s: z.number(),
  wall_s: z.number(),
  /** Sandbox processes found alive after their program ended; anything but 0 needs a look. */
  survivors: count,
  generation: GenerationSummarySchema.nullable(),
  hf: HfSummarySchema.nullable(),
});
export type HumanevalSummary = z.infer<typeof HumanevalSummarySchema>;

export const HumanevalResultSchema = z.object({
  schema: z.literal(HUMANEVAL_SCHEMA),
  command: z.literal('humaneval'),
  created_at: z.string(),
  metadata: RunMetadataSchema,
  environment: EnvironmentReportSchema,
  dataset: z.object({ path: z.string(), sha256: z.string(), plus: z.boolean(), problems_selected: count }),
  model: ModelInfoSchema.nullable(),
  engine: z.object({ backend: z.string(), build: z.record(z.string(), z.unknown()) }).nullable(),
  settings: HumanevalSettingsSchema,
  sandbox: SandboxReportSchema,
  /** The records (.jsonl) the run appended to; null in a result merged from shards. */
  records_file: z.string().nullable(),
  summary: HumanevalSummarySchema,
  records: z.array(SampleRecordSchema),
});
export type HumanevalResult = z.infer<typeof HumanevalResultSchema>;
