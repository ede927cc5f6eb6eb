// The profile result file: versioned, validated on read, and raw enough (every run, step and
// unit) that `diff` can redo the statistics later.
import { z } from 'zod';
import { VramSummarySchema } from '../cuda/vram.js';
import { IO_MODES } from '../engine/native.js';
import { ExpertStatsSchema } from '../profile/experts.js';
import { bytesPerStep, PHASE_ROWS } from '../profile/summary.js';
import { VerdictSchema } from '../profile/verdict.js';
import { SummarySchema } from '../stats.js';
import { fromStepSample } from './samples.js';

export const PROFILE_SCHEMA = 'rabbit-bench/profile@1';

const nonNegative = z.number().finite().nonnegative();
const count = z.number().int().nonnegative();

/**
 * What the page cache held for a run. warm: whatever the kernel kept; cold-run: the model files
 * were evicted before the run; cold-step: and every unit after each read, so every step reads
 * the disk (as a model larger than RAM does). Files from before the scopes say 'cold' for cold-run.
 */
export const CACHE_MODES = ['warm', 'cold-run', 'cold-step'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];
const CacheModeSchema = z.preprocess((v) => (v === 'cold' ? 'cold-run' : v), z.enum(CACHE_MODES));

/** --cold's scope, or false for a warm profile; `true` in files from before the scopes meant 'run'. */
export const COLD_SCOPES = ['run', 'step'] as const;
export type ColdScope = (typeof COLD_SCOPES)[number];
const ColdSettingSchema = z.preprocess((v) => (v === true ? 'run' : v), z.union([z.literal(false), z.enum(COLD_SCOPES)]));

export function cacheMode(cold: false | ColdScope): CacheMode {
  return cold === false ? 'warm' : `cold-${cold}`;
}

/** A sparse layer's routed experts in one step (see ExpertRecord). */
export const ExpertSampleSchema = z.object({
  used: z.array(count),
  loaded: count,
  prefetched: count,
  cached: count,
  guessed: count,
  guessed_used: count,
  bytes_read: nonNegative,
  load_ns: nonNegative,
  prefetch_load_ns: nonNegative,
  wait_ns: nonNegative,
  create_ns: nonNegative,
});

/** One step; per-unit samples are columns aligned with the file's `unit_names`. */
export const StepSampleSchema = z.object({
  kind: z.enum(['prefill', 'decode']),
  tokens: count,
  position: count,
  wall_ns: nonNegative,
  sample_ns: nonNegative,
  peak_rss_bytes: nonNegative,
  /** Bytes the storage devices delivered since the previous step (null: the kernel does not say; absent in older files). */
  device_bytes_read: nonNegative.nullable().optional(),
  load_ns: z.array(nonNegative),
  bytes_read: z.array(nonNegative),
  cpu_wait_ns: z.array(nonNegative),
  create_ns: z.array(nonNegative),
  forward_ns: z.array(nonNegative),
  kv_fill_ns: z.array(nonNegative),
  load_in_background: z.array(z.boolean()),
  /** Mixture-of-experts models: per unit, its experts (null for a dense unit); absent for dense models. */
  experts: z.array(ExpertSampleSchema.nullable()).optional(),
});

export const RunSampleSchema = z.object({
  index: count,
  warmup: z.boolean(),
  cache: CacheModeSchema,
  stop_reason: z.string(),
  /** Process CPU time (user + system, all threads) over the run: unlike wall time, not inflated when other processes take the cores. */
  cpu_ns: nonNegative.optional(),
  tokens: z.array(count),
  steps: z.array(StepSampleSchema).min(1),
});

export const SettingsSchema = z.object({
  device: z.enum(['cpu', 'cuda']),
  prefetch: z.boolean(),
  resident: z.boolean(),
  cold: ColdSettingSchema,
  /** How streamed units were read; files from before --io read with pread. */
  io: z.enum(IO_MODES).default('pread'),
  /** Mixture-of-experts models: whether experts streamed one by one, and the expert cache (null: a dense model). */
  experts: z.object({ streaming: z.boolean(), cache_bytes: count }).nullable().default(null),
  threads: count,
  prompt_tokens: count,
  max_new_tokens: count,
  runs: count,
  warmup: count,
});

export const ModelInfoSchema = z.object({
  name: z.string(),
  dir: z.string(),
  architecture: z.string(),
  dtype: z.string(),
  params: count,
  weight_bytes: count,
  num_layers: count,
  hidden_size: count,
  synthetic: z.object({ shape: z.string(), seed: z.number() }).nullable(),
});

const PhaseStatsSchema = SummarySchema.extend({
  /** Median share of the run's wall time, 0..1. Background loads overlap, so shares can exceed 1 in sum. */
  share: nonNegative,
});

/**
 * Fields newer than the oldest files default to what those files knew of them: nothing (null, no
 * types), except the bytes read per step, which their runs still tell (see withStepBytes).
 */
const LayerStatsSchema = z.object({
  name: z.string(),
  /** Median per step, in ms, over every measured decode step (or the prefill when there is none). */
  load_ms: nonNegative,
  cpu_wait_ms: nonNegative,
  create_ms: nonNegative,
  forward_ms: nonNegative,
  kv_fill_ms: nonNegative,
  total_ms: nonNegative,
  /** The unit's bytes on disk; null: not recorded (older files). */
  unit_bytes: nonNegative.nullable().default(null),
  /** Median bytes read for it per decode step (per prefill when there is no decode step). */
  bytes_per_decode_step: nonNegative.optional(),
  /** The unit's bytes per storage type. */
  dtypes: z.record(z.string(), nonNegative).default({}),
});

/** Statistics across the measured runs (profile/summary.ts computes them): what every table prints. */
export const ProfileSummarySchema = z.object({
  cache: CacheModeSchema,
  measured_runs: z.number().int().positive(),
  /** Milliseconds per run (all steps of the run summed). */
  phases: z.record(z.enum(PHASE_ROWS), PhaseStatsSchema),
  wall_ms: SummarySchema,
  background_load: z.boolean(),
  prefill: z.object({ tokens: count, ttft_ms: SummarySchema }),
  decode: z.object({ steps: count, tok_per_s: SummarySchema.nullable(), ms_per_token: SummarySchema.nullable() }),
  layers: z.array(LayerStatsSchema),
  /** Median bytes one decode step reads (all units), and the weights a decode step reads by storage type. */
  bytes_per_decode_step: nonNegative.optional(),
  dtypes: z.record(z.string(), nonNegative).default({}),
  bytes_read: SummarySchema,
  /** Bytes per run the storage devices delivered; null where the kernel does not count them (or the file is older than the count). */
  device_bytes_read: SummarySchema.nullable().default(null),
  /** Median share of the bytes read that the page cache served (1 - the devices' share), 0..1. */
  page_cache_share: nonNegative.nullable().default(null),
  read_mb_per_s: SummarySchema.nullable(),
  /** What `env` measured the model's disk to deliver (its best direct read), MB/s; null when not measured. */
  device_read_limit_mb_per_s: nonNegative.nullable().default(null),
  overlap_efficiency: SummarySchema,
  peak_rss_bytes: nonNegative,
  /** Mixture-of-experts models: what the routed experts cost (null for dense models). */
  experts: ExpertStatsSchema.nullable().default(null),
  verdict: VerdictSchema,
  /** CUDA: peak and per-unit device memory. */
  vram: VramSummarySchema.optional(),
});

const ProfileFileObjectSchema = z
  .object({
    schema: z.literal(PROFILE_SCHEMA),
    command: z.literal('profile'),
    created_at: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    environment: z.record(z.string(), z.unknown()),
    engine: z.object({ backend: z.string(), build: z.record(z.string(), z.unknown()) }),
    model: ModelInfoSchema,
    settings: SettingsSchema,
    /** The prompt every run used; lets a comparison tell whether outputs changed. */
    prompt_ids: z.array(count).optional(),
    unit_names: z.array(z.string()).min(1),
    runs: z.array(RunSampleSchema).min(1),
    summary: ProfileSummarySchema,
  })
  .superRefine((file, ctx) => {
    const n = file.unit_names.length;
    file.runs.forEach((run, r) =>
      run.steps.forEach((step, s) => {
        for (const key of ['load_ns', 'bytes_read', 'cpu_wait_ns', 'create_ns', 'forward_ns', 'kv_fill_ns', 'load_in_background'] as const) {
          if (step[key].length !== n) {
            ctx.addIssue({ code: 'custom', path: ['runs', r, 'steps', s, key], message: `has ${step[key].length} entries, unit_names has ${n}` });
          }
        }
        if (step.experts && step.experts.length !== n) {
          ctx.addIssue({ code: 'custom', path: ['runs', r, 'steps', s, 'experts'], message: `has ${step.experts.length} entries, unit_names has ${n}` });
        }
      }),
    );
    if (file.runs.filter((r) => !r.warmup).length === 0) ctx.addIssue({ code: 'custom', path: ['runs'], message: 'no measured (non-warmup) run' });
  });

/** Files from before the per-step byte counts get them from their runs, as summarizeProfile derives them. */
function withStepBytes(file: z.output<typeof ProfileFileObjectSchema>) {
  const s = file.summary;
  let derived: ReturnType<typeof bytesPerStep> | undefined;
  const bytes = () =>
    (derived ??= bytesPerStep(file.runs.filter((r) => !r.warmup).map((r) => r.steps.map((step) => fromStepSample(step, file.unit_names)))));
  return {
    ...file,
    summary: {
      ...s,
      bytes_per_decode_step: s.bytes_per_decode_step ?? bytes().total,
      layers: s.layers.map((l) => ({ ...l, bytes_per_decode_step: l.bytes_per_decode_step ?? bytes().units[l.name] ?? 0 })),
    },
  };
}

export const ProfileFileSchema = ProfileFileObjectSchema.transform(withStepBytes);

export type StepSample = z.infer<typeof StepSampleSchema>;
export type ExpertSample = z.infer<typeof ExpertSampleSchema>;
export type RunSample = z.infer<typeof RunSampleSchema>;
export type ProfileSettings = z.infer<typeof SettingsSchema>;
export type ModelInfo = z.infer<typeof ModelInfoSchema>;
export type ProfileFile = z.output<typeof ProfileFileSchema>;
export type ProfileSummary = ProfileFile['summary'];
export type PhaseStats = z.output<typeof PhaseStatsSchema>;
export type LayerStats = ProfileSummary['layers'][number];
