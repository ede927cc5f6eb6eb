// The validate result file (`rabbit-bench/validate@1`): what `--json` prints, what is saved under
// results/, and what `--baseline` reads back (validated with zod).
import { z } from 'zod';
import { EnvironmentReportSchema, RunMetadataSchema } from '../env/environment.js';

export const VALIDATE_SCHEMA = 'rabbit-bench/validate@1';

export const CELL_STATUSES = ['pass', 'fail', 'crash', 'timeout', 'error', 'skipped', 'unavailable'] as const;
export type CellStatus = (typeof CELL_STATUSES)[number];

export const PROMPT_KINDS = ['short', 'long'] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];

export const DEVICES = ['cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

const count = z.number().int().nonnegative();
const nonNegative = z.number().finite().nonnegative();
/** NaN and ±Infinity become null in JSON: a broken engine can produce them. */
const metric = z.number().nullable();

export const CellMetricsSchema = z.object({
  cosine: metric,
  maxAbsDiff: metric,
  maxAbsReference: metric,
  top1Match: z.boolean(),
  top5Overlap: count,
  greedyPrefix: count,
  greedyLength: count,
});

export const CellTimingsSchema = z.object({
  prompt_tokens: count,
  generated_tokens: count,
  ttft_ms: nonNegative,
  decode_ms: nonNegative,
  decode_tokens_per_s: nonNegative.nullable(),
  ms_per_token: nonNegative.nullable(),
  total_ms: nonNegative,
  bytes_read: nonNegative,
  peak_rss_bytes: nonNegative,
});

/** The engine against llama.cpp on the same GGUF file (bench/llama-cpp/compare.ts). */
export const LlamaCppMetricsSchema = z.object({
  top1Match: z.boolean(),
  top5Overlap: count,
  maxProbDiff: metric,
  greedyPrefix: count,
  greedyLength: count,
});

/** A cell's comparison with llama.cpp (validate --llama-cpp). */
export const LlamaCppCheckSchema = z.object({
  pass: z.boolean(),
  failures: z.array(z.string()),
  metrics: LlamaCppMetricsSchema,
});

/** The one JSON line a cell child prints on stdout (bench/validate/cell.ts). */
export const CellOutputSchema = z.object({
  case: z.string(),
  backend: z.string(),
  prompt_tokens: count,
  max_new_tokens: count,
  pass: z.boolean(),
  failures: z.array(z.string()),
  metrics: CellMetricsSchema,
  timings: CellTimingsSchema,
  /** Against llama.cpp, when the cell was given its reference. */
  llama_cpp: LlamaCppCheckSchema.nullable(),
});
export type CellOutput = z.infer<typeof CellOutputSchema>;

export const PerfChangeSchema = z.object({
  baseline_ttft_ms: nonNegative,
  baseline_decode_tokens_per_s: nonNegative.nullable(),
  /** (now − baseline) / baseline × 100; positive = slower first token. */
  ttft_change_pct: z.number().nullable(),
  /** (now − baseline) / baseline × 100; negative = slower decoding. */
  decode_change_pct: z.number().nullable(),
  /** Decode tok/s fell by more than the threshold. */
  slower: z.boolean(),
});
export type PerfChange = z.infer<typeof PerfChangeSchema>;

export const CellProcessSchema = z.object({
  pid: count.nullable(),
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  elapsed_ms: nonNegative,
  /** The last lines the child wrote on stderr (engine warnings, a crash message). */
  stderr_tail: z.string(),
});

export const CellSchema = z.object({
  /** MODEL/PROMPT/DEVICE, e.g. llama-tied-gqa-f32/long/cpu: what --inject-fault and --baseline match on. */
  id: z.string(),
  model: z.string(),
  prompt: z.enum(PROMPT_KINDS),
  device: z.enum(DEVICES),
  status: z.enum(CELL_STATUSES),
  /** One line: why the cell is not a pass (null for a pass). */
  reason: z.string().nullable(),
  /** Every parity check that failed. */
  failures: z.array(z.string()),
  prompt_tokens: count.nullable(),
  max_new_tokens: count.nullable(),
  metrics: CellMetricsSchema.nullable(),
  timings: CellTimingsSchema.nullable(),
  perf: PerfChangeSchema.nullable(),
  /** The child process, when one ran. */
  process: CellProcessSchema.nullable(),
  /** Test-only fault injected into this cell (--inject-fault or RABBIT_BENCH_FAULT). */
  fault: z.string().nullable(),
  /** Against llama.cpp (validate --llama-cpp; absent in files from before it). Its failures are in `failures` too. */
  llama_cpp: LlamaCppCheckSchema.nullable().optional(),
});
export type Cell = z.infer<typeof CellSchema>;

export const ModelEntrySchema = z.object({
  name: z.string(),
  /** What was asked for: a fixture name, a folder or a Hub repo id. */
  source: z.string(),
  fixture: z.boolean(),
  dir: z.string().nullable(),
  architecture: z.string().nullable(),
  dtype: z.string().nullable(),
  max_positions: count.nullable(),
  prompts: z.array(z.object({ name: z.enum(PROMPT_KINDS), tokens: count, note: z.string().nullable() })),
  reference: z.object({
    source: z.enum(['live', 'golden', 'none']),
    file: z.string().nullable(),
    transformers_version: z.string().nullable(),
    /** Why this source (e.g. why not live), or why there is none. */
    note: z.string().nullable(),
  }),
  /** Why the model could not be validated at all (unsupported, unreadable, stale golden). */
  problem: z.string().nullable(),
  /** The llama.cpp reference (validate --llama-cpp; absent in files from before it). */
  llama_cpp: z
    .object({
      /** Which llama.cpp: its release and node-llama-cpp's version; null when none ran. */
      build: z.string().nullable(),
      /** Why there is none (not a GGUF file, no node-llama-cpp, llama.cpp failed). */
      note: z.string().nullable(),
    })
    .nullable()
    .optional(),
});
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

export const ValidateFileSchema = z.object({
  schema: z.literal(VALIDATE_SCHEMA),
  run: RunMetadataSchema,
  environment: EnvironmentReportSchema.nullable(),
  settings: z.object({
    devices: z.array(z.enum(DEVICES)),
    prompts: z.array(z.enum(PROMPT_KINDS)),
    long_prompt_tokens: count,
    short_prompt_tokens: count,
    max_new_tokens: count,
    cell_timeout_s: nonNegative,
    threads: count,
    min_cosine: z.number(),
    max_rel_diff: z.number(),
    reference_mode: z.enum(['live', 'golden']),
    python: z.string().nullable(),
    perf_threshold_pct: nonNegative,
    fail_on_perf: z.boolean(),
    allow_skips: z.boolean(),
    /** RABBIT_BENCH_FAULT of the whole run (test-only), inherited by every cell. */
    global_fault: z.string().nullable(),
    /** --llama-cpp: GGUF models are also compared with llama.cpp (absent in files from before it). */
    llama_cpp: z.boolean().optional(),
    /** --shard K/N: this file holds that part of the matrix's cells (absent in files from before sharding). */
    shard: z.object({ index: count, count: count }).nullable().optional(),
  }),
  models: z.array(ModelEntrySchema),
  cells: z.array(CellSchema),
  baseline: z
    .object({
      file: z.string(),
      /** Same machine fingerprint; null when either side has no environment. */
      same_machine: z.boolean().nullable(),
      matched_cells: count,
    })
    .nullable(),
  summary: z.object({
    total: count,
    pass: count,
    fail: count,
    crash: count,
    timeout: count,
    error: count,
    skipped: count,
    unavailable: count,
    perf_warnings: count,
  }),
  pass: z.boolean(),
});
export type ValidateFile = z.infer<typeof ValidateFileSchema>;
