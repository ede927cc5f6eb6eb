// The diff and gate results as documents (`rabbit-bench/diff@1`, `rabbit-bench/gate@1`): what
// `--format json` prints, validated when `rabbit-bench report` reads them back.
import { z } from 'zod';
import { RunMetadataSchema } from '../env/types.js';
import { VERDICTS } from './decide.js';
import { METRIC_UNITS } from './metrics.js';

export const DIFF_SCHEMA = 'rabbit-bench/diff@1';
export const GATE_SCHEMA = 'rabbit-bench/gate@1';

/** JSON writes NaN (a change against a zero base) as null. */
const numberOrNaN = z.preprocess((v) => (v === null ? Number.NaN : v), z.union([z.number(), z.nan()]));

export const RatioIntervalSchema = z.object({ ratio: numberOrNaN, lo: numberOrNaN, hi: numberOrNaN, confidence: z.number() });

export const MetricComparisonSchema = z.object({
  id: z.string(),
  label: z.string(),
  unit: z.enum(METRIC_UNITS),
  better: z.enum(['lower', 'higher']),
  base: numberOrNaN,
  current: numberOrNaN,
  change: numberOrNaN,
  ci: RatioIntervalSchema,
  verdict: z.enum(VERDICTS),
  samples: z.object({ base: z.number().int().nonnegative(), current: z.number().int().nonnegative() }),
});

/** Which result a side of the comparison was: enough to find it again and to trust it. */
export const DiffSideSchema = z.object({
  model: z.string(),
  created_at: z.string(),
  git_commit: z.string().nullable(),
  engine_build: z.record(z.string(), z.unknown()),
  measured_runs: z.number().int().nonnegative(),
});

export const DiffResultSchema = z.object({
  schema: z.literal(DIFF_SCHEMA),
  /** The diff command's own run (its command line and commit); absent inside a gate's result, which has its own. */
  run: RunMetadataSchema.optional(),
  threshold: z.number(),
  confidence: z.number(),
  paired: z.boolean(),
  sameMachine: z.boolean(),
  baseFingerprint: z.string().nullable(),
  currentFingerprint: z.string().nullable(),
  settingDifferences: z.array(z.string()),
  base: DiffSideSchema,
  current: DiffSideSchema,
  headline: z.array(MetricComparisonSchema),
  layers: z.array(MetricComparisonSchema),
  outputs: z.object({ comparable: z.boolean(), identical: z.boolean(), note: z.string() }),
});

/** One decision of the gate's adaptive loop: after `runs` runs, each deciding metric's verdict. */
export const GateDecisionSchema = z.object({
  runs: z.number().int().nonnegative(),
  elapsed_s: z.number(),
  verdicts: z.array(z.object({ id: z.string(), verdict: z.enum(VERDICTS), change: numberOrNaN })),
});

export const GateResultSchema = z.object({
  schema: z.literal(GATE_SCHEMA),
  /** The gate's own run: its command line, commit and start. */
  run: RunMetadataSchema,
  /** The machine of the current run (measured by the gate: this one; given by --current: that file's). */
  machine_fingerprint: z.string().nullable(),
  status: z.enum(['PASS', 'PASS (inconclusive)', 'FAIL']),
  failures: z.array(z.string()),
  inconclusive: z.array(z.string()),
  /** The metrics that decide the gate (--metric). */
  metrics: z.array(z.string()),
  /** null when the current run failed before it could be compared. */
  diff: DiffResultSchema.nullable(),
  /** The adaptive loop's decisions, batch by batch; empty when the gate compared given files. */
  decisions: z.array(GateDecisionSchema),
});

export type MetricComparison = z.infer<typeof MetricComparisonSchema>;
export type DiffSide = z.infer<typeof DiffSideSchema>;
export type DiffResult = z.infer<typeof DiffResultSchema>;
export type GateDecision = z.infer<typeof GateDecisionSchema>;
export type GateResult = z.infer<typeof GateResultSchema>;
/** What the gate decided, before the run it was decided in is attached. */
export type GateVerdict = Omit<GateResult, 'schema' | 'run' | 'machine_fingerprint'>;
