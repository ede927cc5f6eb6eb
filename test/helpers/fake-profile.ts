// What a profile needs besides an engine, without the native addon: a tiny synthesised model's
// load plan (real units and bytes), a machine and a run to record, and the settings; and the
// profile file of a fake engine's runs, measured and summarised as `profile` does it.
import { join } from 'node:path';
import type { NativeBuildInfo } from '../../bench/engine/native.js';
import type { EnvironmentReport, RunMetadata } from '../../bench/env/types.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import type { LoadPlan } from '../../bench/model/types.js';
import { measureRuns } from '../../bench/profile/measure.js';
import { buildProfileFile } from '../../bench/profile/result.js';
import { unitFacts } from '../../bench/profile/units.js';
import type { ProfileFile, ProfileSettings } from '../../bench/results/profile-schema.js';
import { writeCheckpoint } from '../../bench/synth/checkpoint.js';
import { FIXTURES } from '../../bench/synth/fixture-specs.js';
import type { FakeEngine, FakeUnit } from './fake-engine.js';

/** The smallest fixture (Llama, 2 layers, f32), written into `dir`, as the engine would plan to load it. */
export function tinyPlan(dir: string): LoadPlan {
  const model = join(dir, 'tiny');
  writeCheckpoint(model, FIXTURES['llama-tied-gqa-f32']);
  return buildLoadPlan(model);
}

/** The plan's units as the fake streams them: every unit whole per step, but one embedding row per token. */
export function fakeUnits(plan: LoadPlan, weights: Record<string, number> = {}): FakeUnit[] {
  return unitFacts(plan).map((u) => ({
    name: u.name,
    bytes: u.name === 'embed' ? u.bytes / plan.spec.vocabSize : u.bytes,
    perToken: u.name === 'embed',
    weight: weights[u.name],
  }));
}

export const FAKE_BUILD: NativeBuildInfo = { compiler: 'fake', flags: '', buildType: 'Release', backends: ['cpu'], timers: true, cpuKernels: 'portable' };

export function fakeEnvironment(fingerprint = '0123456789abcdef'): EnvironmentReport {
  return {
    schema_version: 1,
    collected_at: '2026-01-01T00:00:00.000Z',
    collect_ms: 1,
    machine_fingerprint: fingerprint,
    cpu: { manufacturer: 'fake', brand: 'fake cpu', cores: 2, physical_cores: 2, speed_ghz: null, speed_max_ghz: null, l3_bytes: null, simd: null },
    memory: { total_bytes: 2 ** 33, available_bytes: 2 ** 32 },
    gpus: [],
    disks: [],
    storage: null,
    os: { platform: 'linux', distro: 'fake', release: '1', kernel: '6.0', arch: 'x64' },
    node_version: process.version,
    engine_build: { compiler: 'fake', flags: '', build_type: 'Release', backends: ['cpu'], timers: true },
    measured: null,
    unavailable: [],
  };
}

export const FAKE_METADATA: RunMetadata = {
  git_commit: null,
  git_dirty: null,
  git_unavailable: 'a test',
  command: 'rabbit-bench profile',
  cwd: '/',
  started_at: '2026-01-01T00:00:00.000Z',
  rabbit_bench_version: '0.0.0',
};

/** A streaming, prefetching CPU profile of `runs` runs (+ `warmup`), as `profile` records it. */
export function fakeSettings(o: Partial<ProfileSettings> & { promptTokens: number; maxNewTokens: number }): ProfileSettings {
  const { promptTokens, maxNewTokens, ...rest } = o;
  return {
    device: 'cpu', prefetch: true, resident: false, cold: false, io: 'pread', experts: null, threads: 0,
    prompt_tokens: promptTokens, max_new_tokens: maxNewTokens, runs: 3, warmup: 1, ...rest,
  };
}

/** `engine`'s runs measured and summarised into a profile file, as `profile` makes it. */
export async function fakeProfile(engine: FakeEngine, plan: LoadPlan, settings: ProfileSettings, promptIds: number[]): Promise<ProfileFile> {
  const m = await measureRuns(engine, { promptIds, maxNewTokens: settings.max_new_tokens, runs: settings.runs, warmup: settings.warmup });
  return buildProfileFile({
    plan, settings, promptIds, runs: m.runs, unitNames: m.unitNames, metadata: FAKE_METADATA, environment: fakeEnvironment(),
    backend: engine.backend, build: FAKE_BUILD,
  });
}
