// npm run bench:vs-hf: what the child processes print and what the result file holds. Children's
// JSON is validated before it is used, and the result file before it is written, so a changed
// child (or a Python side that prints something else) fails loudly instead of skewing a ratio.
import { z } from 'zod';
import { EnvironmentReportSchema, MemoryBandwidthSchema, DiskReadSchema, RunMetadataSchema } from '../env/types.js';

export const VS_HF_SCHEMA = 'rabbit-bench/vs-hf@1';
export const HF_SPEED_SCHEMA = 'rabbit-bench/hf-speed@1';
export const ENGINE_SPEED_SCHEMA = 'rabbit-bench/engine-speed@1';

/** The order in which every round runs them, per model and dtype. */
export const RUNNERS = ['engine-resident', 'engine-streaming', 'hf-eager', 'hf-sdpa'] as const;
export type Runner = (typeof RUNNERS)[number];
export const isEngine = (r: Runner): r is 'engine-resident' | 'engine-streaming' => r.startsWith('engine-');

/** Checkpoint dtypes the benchmark synthesises, as flags and as config.json names them. */
export const DTYPES = { f32: 'float32', bf16: 'bfloat16' } as const;
export type DtypeFlag = keyof typeof DTYPES;

/** loadAddon().buildInfo(), keeping fields newer builds add (e.g. which CPU kernels they chose). */
export const BuildSchema = z.looseObject({ compiler: z.string(), flags: z.string(), buildType: z.string(), backends: z.array(z.string()), timers: z.boolean() });

const nonNegative = z.number().finite().nonnegative();
const positive = z.number().finite().positive();
const count = z.number().int().nonnegative();

/** Phase sums over the measured generation's decode steps (engine only), in ns. */
export const DecodePhasesSchema = z.object({
  steps: count,
  /** Σ (step wall + sampling). */
  wall_ns: nonNegative,
  /** Σ load_safe_tensor (prefetch thread included). */
  load_ns: nonNegative,
  /** Σ create_layer + forward_per_layer + kv_fill. */
  compute_ns: nonNegative,
  bytes_read: nonNegative,
});
export type DecodePhases = z.infer<typeof DecodePhasesSchema>;

/** scripts/engine-speed.ts prints one of these on stdout. */
export const EngineSpeedSchema = z.object({
  schema: z.literal(ENGINE_SPEED_SCHEMA),
  mode: z.enum(['resident', 'streaming']),
  threads: z.number().int().positive(),
  build: BuildSchema,
  prompt_tokens: count,
  decode_tokens: count,
  /** The prefill step plus choosing the first token (TTFT). */
  prefill_s: positive,
  /** All decode steps, sampling included. */
  decode_s: positive,
  /** The measured generate() call timed from outside the engine. */
  generate_wall_s: positive,
  /** process.resourceUsage().maxRSS of the whole child. */
  peak_rss_bytes: positive,
  /** CPU time (user + system, all threads) of the whole child. */
  cpu_s: nonNegative,
  tokens: z.array(count),
  decode_phases: DecodePhasesSchema,
});
export type EngineSpeed = z.infer<typeof EngineSpeedSchema>;

/** scripts/hf_speed.py prints one of these on stdout. */
export const HfSpeedSchema = z.object({
  schema: z.literal(HF_SPEED_SCHEMA),
  attn_implementation: z.enum(['eager', 'sdpa']),
  dtype: z.literal('float32'),
  /** torch.get_num_threads() after set_num_threads. */
  threads: z.number().int().positive(),
  torch_version: z.string(),
  transformers_version: z.string(),
  /** Whether the prefill computed logits for the last position only (as generate() does). */
  logits_to_keep: z.boolean(),
  prompt_tokens: count,
  decode_tokens: count,
  load_s: nonNegative,
  prefill_s: positive,
  decode_s: positive,
  peak_rss_bytes: positive,
  /** CPU time (user + system, all threads) of the whole child. */
  cpu_s: nonNegative,
  tokens: z.array(count),
});
export type HfSpeed = z.infer<typeof HfSpeedSchema>;

/** `hf_speed.py --versions`. */
export const HfVersionsSchema = z.object({ torch_version: z.string(), transformers_version: z.string(), torch_threads_default: z.number().int() });
export type HfVersions = z.infer<typeof HfVersionsSchema>;

/** One child process: one runner on one model × dtype in one round. */
export const MeasurementSchema = z.object({
  round: count,
  model: z.string(),
  dtype: z.enum(['f32', 'bf16']),
  runner: z.enum(RUNNERS),
  /** Why the child produced no figures; null when it did. */
  error: z.string().nullable(),
  prefill_tok_s: positive.nullable(),
  decode_tok_s: positive.nullable(),
  peak_rss_bytes: positive.nullable(),
  threads: z.number().int().positive().nullable(),
  /** The child process from spawn to exit, as the parent saw it. */
  wall_s: nonNegative,
  /** Average cores that other work (steal included) kept busy meanwhile; null where /proc/stat is not there. */
  other_cores: nonNegative.nullable(),
  tokens: z.array(count),
  /** Engine only. */
  decode_phases: DecodePhasesSchema.nullable(),
  /** The child's own report as printed. */
  raw: z.union([EngineSpeedSchema, HfSpeedSchema]).nullable(),
});
export type Measurement = z.infer<typeof MeasurementSchema>;

export const RooflineSchema = z.object({
  /** Weight bytes one decode token reads: decoder layers + lm_head (stored dtype for the engine, f32 for HF). */
  bytes_per_token: count,
  bandwidth_source: z.enum(['memory', 'page-cache']),
  /** Bytes per second. */
  bandwidth: positive,
  /** bandwidth / bytes_per_token. */
  limit_tok_s: positive,
  /** Measured decode tok/s as a percentage of limit_tok_s; null without a measured decode. */
  percent: nonNegative.nullable(),
});
export type Roofline = z.infer<typeof RooflineSchema>;

/** One table row: the median over rounds of one runner on one model × dtype. */
export const RowSchema = z.object({
  model: z.string(),
  dtype: z.enum(['f32', 'bf16']),
  runner: z.enum(RUNNERS),
  /** Rounds with figures, and rounds whose child failed. */
  rounds: count,
  failed: count,
  errors: z.array(z.string()),
  prefill_tok_s: positive.nullable(),
  decode_tok_s: positive.nullable(),
  peak_rss_bytes: positive.nullable(),
  /** Ratios of medians: this row ÷ HF (same model and dtype); null where either side is missing. */
  prefill_vs_hf_sdpa: positive.nullable(),
  decode_vs_hf_sdpa: positive.nullable(),
  prefill_vs_hf_eager: positive.nullable(),
  decode_vs_hf_eager: positive.nullable(),
  roofline: RooflineSchema,
  /** Engine streaming only: median over rounds of Σwall / max(Σload, Σcompute) over the decode steps. */
  streaming_wall_over_bound: positive.nullable(),
  /** Engine streaming only: medians over rounds of the decode steps' Σwall, Σload and Σcompute, in ms. */
  streaming_decode_ms: z.object({ wall: nonNegative, load: nonNegative, compute: nonNegative }).nullable(),
});
export type Row = z.infer<typeof RowSchema>;

export const TargetStatusSchema = z.enum(['PASS', 'MISS', 'not measured']);
export type TargetStatus = z.infer<typeof TargetStatusSchema>;

export const TargetCheckSchema = z.object({
  id: z.enum(['resident-decode-vs-sdpa', 'resident-decode-roofline', 'prefill-vs-sdpa', 'bf16-faster-than-f32', 'streaming-overlap']),
  /** What is required, in words. */
  target: z.string(),
  /** The model (and dtype) it was checked on. */
  scope: z.string(),
  status: TargetStatusSchema,
  /** The measured figure the status rests on (null when not measured). */
  value: z.number().nullable(),
  /** The figures behind it, or why it was not measured. */
  detail: z.string(),
});
export type TargetCheck = z.infer<typeof TargetCheckSchema>;

export const ModelEntrySchema = z.object({
  model: z.string(),
  dtype: z.enum(['f32', 'bf16']),
  dir: z.string(),
  architecture: z.string(),
  num_layers: count,
  vocab_size: count,
  /** Decoder layers + lm_head as stored (what the engine reads per decode token). */
  weight_bytes_per_token: count,
  /** The same tensors in float32 (what HF, which computes in f32, reads per decode token). */
  weight_bytes_per_token_f32: count,
  /** The prompt both sides were given (an LCG over the vocab; see prompt.ts). */
  prompt_ids: z.array(count),
});
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

export const VsHfFileSchema = z.object({
  schema: z.literal(VS_HF_SCHEMA),
  created_at: z.iso.datetime(),
  wall_s: nonNegative,
  metadata: RunMetadataSchema,
  environment: EnvironmentReportSchema,
  settings: z.object({
    models: z.array(z.string()).min(1),
    dtypes: z.array(z.enum(['f32', 'bf16'])).min(1),
    rounds: z.number().int().positive(),
    prompt_tokens: z.number().int().positive(),
    decode_tokens: z.number().int().positive(),
    /** Hardware threads (os.cpus().length): the engine's compute threads and torch.set_num_threads. */
    threads: z.number().int().positive(),
    /**
     * OMP_WAIT_POLICY the engine ran with (it set passive unless the environment said otherwise).
     * Absent in files from engines with their own thread pool, which OMP_WAIT_POLICY does not reach.
     */
    omp_wait_policy: z.string().nullable().optional(),
    /**
     * What transformers ran with: the user's setting, or none (torch's default). Absent in files
     * from before peers ran with their own defaults, when transformers got the engine's.
     */
    hf_omp_wait_policy: z.string().nullable().optional(),
    runners: z.array(z.enum(RUNNERS)),
  }),
  engine: z.object({
    build: BuildSchema,
    threads: z.number().int().positive(),
  }),
  hf: z.object({
    available: z.boolean(),
    /** Why HF was not measured; null when it was. */
    reason: z.string().nullable(),
    python: z.string().nullable(),
    torch_version: z.string().nullable(),
    transformers_version: z.string().nullable(),
    /** torch.get_num_threads() as the children reported it. */
    threads: z.number().int().positive().nullable(),
  }),
  bandwidth: z.object({
    memory_start: MemoryBandwidthSchema,
    memory_end: MemoryBandwidthSchema.nullable(),
    /** Bytes per second the resident rooflines divide by, and which figure it is. */
    memory_used: positive,
    memory_used_from: z.string(),
    disk: DiskReadSchema,
    /** Bytes per second the streaming rooflines divide by (warm page-cache reads). */
    page_cache_used: positive,
  }),
  models: z.array(ModelEntrySchema),
  measurements: z.array(MeasurementSchema),
  rows: z.array(RowSchema),
  targets: z.array(TargetCheckSchema),
  notes: z.array(z.string()),
});
export type VsHfFile = z.infer<typeof VsHfFileSchema>;
