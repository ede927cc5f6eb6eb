// The gate's engine side: the measuring the adaptive loop (compare/gate.ts) is handed, and the
// parity check. Everything here runs the native engine.
import { existsSync } from 'node:fs';
import { collectEnvironment, runMetadata } from '../env/environment.js';
import { InferenceEngine } from '../engine/engine.js';
import { loadAddon, type NativeBuildInfo } from '../engine/native.js';
import { UserError } from '../errors.js';
import { buildLoadPlan } from '../model/plan.js';
import { modelArgument } from '../model/resolve.js';
import { DEFAULT_SHAPE, ensureDefaultModel } from '../profile/default-model.js';
import { measureRuns } from '../profile/measure.js';
import { modelInfo } from '../profile/model-info.js';
import { promptOfLength } from '../profile/prompt.js';
import { buildProfileFile } from '../profile/result.js';
import { F32_TOLERANCE } from '../reference/compare.js';
import { readReference } from '../reference/reference-file.js';
import { runParity } from '../reference/run-parity.js';
import type { ProfileFile, RunSample } from '../results/profile-schema.js';
import { checkSameModel, type MeasureBatch, type SideName } from './gate.js';

function modelDirFor(baseline: ProfileFile, override: string | undefined, log: (l: string) => void): string {
  if (override) return override;
  if (existsSync(baseline.model.dir)) return baseline.model.dir;
  if (baseline.model.synthetic?.shape === DEFAULT_SHAPE) return ensureDefaultModel(log);
  throw new UserError(`the baseline's model folder ${baseline.model.dir} is not here: pass --model`, 2);
}

interface Side {
  make: () => InferenceEngine;
  engine: InferenceEngine;
  backend: string;
  build: NativeBuildInfo;
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
export async function engineMeasurer(baseline: ProfileFile, o: { model?: string; baselineEngine?: string; log: (l: string) => void }): Promise<EngineMeasurer> {
  const plan = buildLoadPlan(modelDirFor(baseline, o.model, o.log));
  checkSameModel(baseline.model, modelInfo(plan), modelArgument(plan.source));
  const s = baseline.settings;
  const promptIds = baseline.prompt_ids ?? (await promptOfLength(plan.source, plan.spec.vocabSize, s.prompt_tokens));
  const metadata = runMetadata(process.argv);
  const environment = await collectEnvironment({ measure: false });
  const workload = { prefetch: s.prefetch, resident: s.resident, io: s.io, threads: s.threads };
  const open = (make: () => InferenceEngine, build: NativeBuildInfo): Side => {
    const engine = make();
    return { make, engine, backend: engine.backend, build, runs: [], unitNames: [] };
  };
  const sides = new Map<SideName, Side>([['current', open(() => InferenceEngine.open(plan, workload), loadAddon().buildInfo())]]);
  const baseAddon = o.baselineEngine;
  if (baseAddon) {
    sides.set('base', open(() => InferenceEngine.open(plan, { ...workload, addon: baseAddon, slowdownPercent: 0 }), loadAddon(baseAddon).buildInfo()));
  }
  const fileOf = (side: Side) => {
    const count = (warmup: boolean) => side.runs.filter((r) => r.warmup === warmup).length;
    const settings = { ...s, runs: count(false), warmup: count(true), prompt_tokens: promptIds.length };
    return buildProfileFile({ plan, settings, promptIds, runs: side.runs, unitNames: side.unitNames, metadata, environment, backend: side.backend, build: side.build });
  };
  const measure = async (side: Side, runs: number, warmup: number) => {
    const m = await measureRuns(side.engine, { promptIds, maxNewTokens: s.max_new_tokens, runs, warmup });
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
          for (const side of order) side.engine = side.make();
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
