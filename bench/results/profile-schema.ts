// The profile result file: versioned, validated on read, and raw enough (every run, step and
// unit) that `diff` can redo the statistics later.
import { z } from 'zod';
import { IO_MODES } from '../engine/native.js';

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

export const ProfileFileSchema = z
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
    summary: z.record(z.string(), z.unknown()),
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

export type StepSample = z.infer<typeof StepSampleSchema>;
export type ExpertSample = z.infer<typeof ExpertSampleSchema>;
export type RunSample = z.infer<typeof RunSampleSchema>;
export type ProfileSettings = z.infer<typeof SettingsSchema>;
export type ModelInfo = z.infer<typeof ModelInfoSchema>;
export type ProfileFile = z.infer<typeof ProfileFileSchema>;
