// The gate's engine side: the measuring the adaptive loop (compare/gate.ts) is handed, and the
// parity check. The batches run any engine (tests hand them fakes); the gate opens native ones.
import { existsSync } from 'node:fs';
import { InferenceEngine, type TokenGenerator } from '../engine/engine.js';
import { loadAddon, type NativeBuildInfo } from '../engine/native.js';
import { UserError } from '../errors.js';
import type { EnvironmentReport, RunMetadata } from '../env/types.js';
import { buildLoadPlan } from '../model/plan.js';
import type { LoadPlan } from '../model/types.js';
import { modelArgument } from '../model/resolve.js';
import { measureRuns } from '../profile/measure.js';
import { modelInfo } from '../profile/model-info.js';
import { promptOfLength } from '../profile/prompt.js';
import { buildProfileFile } from '../profile/result.js';
import { F32_TOLERANCE } from '../reference/compare.js';
import { readReference } from '../reference/reference-file.js';
import { runParity } from '../reference/run-parity.js';
import type { ProfileFile, ProfileSettings, RunSample } from '../results/profile-schema.js';
import { DEFAULT_SHAPE, ensureDefaultModel } from '../synth/models.js';
import { checkSameModel, type MeasureBatch, type SideName } from './gate.js';

function modelDirFor(baseline: ProfileFile, override: string | undefined, log: (l: string) => void): string {
  if (override) return override;
  if (existsSync(baseline.model.dir)) return baseline.model.dir;
  if (baseline.model.synthetic?.shape === DEFAULT_SHAPE) return ensureDefaultModel(log);
  throw new UserError(`the baseline's model folder ${baseline.model.dir} is not here: pass --model`, 2);
}

/** An engine instance the gate measures with; closed when a pair asks for fresh instances. */
export interface GateEngine extends TokenGenerator {
  readonly backend: string;
  close(): void;
}

/** A build the gate measures: how to open a fresh instance of its engine, and its build info for the files. */
export interface BuildToMeasure {
  open: () => GateEngine;
  build: NativeBuildInfo;
}

/** What every file the gate measures records beside its runs: the model, the baseline's workload, the machine. */
export interface GateWorkload {
  plan: LoadPlan;
  settings: ProfileSettings;
  promptIds: number[];
  metadata: RunMetadata;
  environment: EnvironmentReport;
}

interface Side extends BuildToMeasure {
  engine: GateEngine;
  backend: string;
  runs: RunSample[];
  unitNames: string[];
}

export interface EngineMeasurer {
  measureBatch: MeasureBatch;
  /** Closes every engine instance; call once, when measuring stops. */
  close(): void;
}

/**
 * Opens the baseline's model (or --model, which must have its shape) with the baseline's
 * workload, and with `baselineEngine` the base build beside this one (the calibration slowdown,
 * RABBIT_BENCH_SLOWDOWN_PERCENT, slows the build under test only).
 */
export async function engineMeasurer(baseline: ProfileFile, o: {
  model?: string;
  baselineEngine?: string;
  /** The gate's run and this machine, recorded in every file it measures. */
  metadata: RunMetadata;
  environment: EnvironmentReport;
  log: (l: string) => void;
}): Promise<EngineMeasurer> {
  const plan = buildLoadPlan(modelDirFor(baseline, o.model, o.log));
  checkSameModel(baseline.model, modelInfo(plan), modelArgument(plan.source));
  const s = baseline.settings;
  const promptIds = baseline.prompt_ids ?? (await promptOfLength(plan.source, plan.spec.vocabSize, s.prompt_tokens));
  const workload = { prefetch: s.prefetch, resident: s.resident, io: s.io, threads: s.threads };
  const current = { open: () => InferenceEngine.open(plan, workload), build: loadAddon().buildInfo() };
  const baseAddon = o.baselineEngine;
  const base = baseAddon
    ? { open: () => InferenceEngine.open(plan, { ...workload, addon: baseAddon, slowdownPercent: 0 }), build: loadAddon(baseAddon).buildInfo() }
    : undefined;
  return batchMeasurer({ current, base }, { plan, settings: s, promptIds, metadata: o.metadata, environment: o.environment });
}

/**
 * The measuring the adaptive loop is handed, over any engines: each pair's fresh instances,
 * warm-ups and runs in the order it asks, and every side's runs so far as a profile file.
 * `base`: the base build, measured beside this one.
 */
export function batchMeasurer(builds: { current: BuildToMeasure; base?: BuildToMeasure }, w: GateWorkload): EngineMeasurer {
  const open = (build: BuildToMeasure): Side => {
    const engine = build.open();
    return { ...build, engine, backend: engine.backend, runs: [], unitNames: [] };
  };
  const sides = new Map<SideName, Side>([['current', open(builds.current)]]);
  if (builds.base) sides.set('base', open(builds.base));
  const fileOf = (side: Side) => {
    const count = (warmup: boolean) => side.runs.filter((r) => r.warmup === warmup).length;
    const settings = { ...w.settings, runs: count(false), warmup: count(true), prompt_tokens: w.promptIds.length };
    return buildProfileFile({ ...w, settings, runs: side.runs, unitNames: side.unitNames, backend: side.backend, build: side.build });
  };
  const measure = async (side: Side, runs: number, warmup: number) => {
    const m = await measureRuns(side.engine, { promptIds: w.promptIds, maxNewTokens: w.settings.max_new_tokens, runs, warmup });
    m.runs.forEach((r) => side.runs.push({ ...r, index: side.runs.length }));
    side.unitNames = m.unitNames;
  };
  const sideOf = (name: SideName) => sides.get(name)!;
  return {
    async measureBatch(pairs) {
      for (const p of pairs) {
        const order = p.order.map(sideOf);
        if (p.fresh) {
          sides.forEach((side) => side.engine.close());
          for (const side of order) side.engine = side.open();
        }
        if (p.warmup) for (const side of order) await measure(side, 0, 1);
        for (const side of order) await measure(side, 1, 0);
      }
      const base = sides.get('base');
      return { current: fileOf(sideOf('current')), base: base ? fileOf(base) : null };
    },
    close() {
      sides.forEach((side) => side.engine.close());
    },
  };
}

/** With a reference file: every parity case that fails, as a gate failure. */
export async function parityFailures(reference: string | undefined, current: ProfileFile): Promise<string[]> {
  if (!reference) return [];
  const engine = InferenceEngine.open(buildLoadPlan(current.model.dir), {});
  try {
    const results = await runParity(readReference(reference), engine, F32_TOLERANCE);
    return results.filter((r) => !r.pass).map((r) => `parity ${r.name}: ${r.failures.join('; ')}`);
  } finally {
    engine.close();
  }
}
