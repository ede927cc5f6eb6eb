// Assembling a profile result file from measured runs.
import { deviceReadLimit, type EnvironmentReport, type RunMetadata } from '../env/types.js';
import type { NativeBuildInfo } from '../engine/native.js';
import type { LoadPlan } from '../model/types.js';
import { cacheMode, PROFILE_SCHEMA, type ProfileFile, type ProfileSettings, type RunSample } from '../results/profile-schema.js';
import { parseProfileFile } from '../results/read.js';
import { fromStepSample } from '../results/samples.js';
import { modelInfo } from './model-info.js';
import { mixEstimates } from '../quantize/estimate.js';
import { summarizeProfile } from './summary.js';
import { expertBytesOf, unitFacts } from './units.js';

export interface ProfileInputs {
  plan: LoadPlan;
  settings: ProfileSettings;
  promptIds: number[];
  runs: RunSample[];
  unitNames: string[];
  metadata: RunMetadata;
  environment: EnvironmentReport;
  backend: string;
  build: NativeBuildInfo;
}

export function buildProfileFile(i: ProfileInputs): ProfileFile {
  const measured = i.runs.filter((r) => !r.warmup).map((r) => r.steps.map((s) => fromStepSample(s, i.unitNames)));
  const summary = summarizeProfile(measured, {
    prefetch: i.settings.prefetch,
    resident: i.settings.resident,
    cache: cacheMode(i.settings.cold),
    io: i.settings.io,
    deviceReadLimitMBps: i.environment.measured ? deviceReadLimit(i.environment.measured.disk_read).mbps : null,
    units: unitFacts(i.plan),
    quantized: mixEstimates(i.plan),
    moe: i.plan.spec.moe && i.settings.experts
      ? { spec: i.plan.spec.moe, expertBytes: expertBytesOf(i.plan), cacheBytes: i.settings.resident ? null : i.settings.experts.cache_bytes }
      : null,
  });
  // Validated like any file read back, so nothing is written that could not be read.
  return parseProfileFile({
    schema: PROFILE_SCHEMA,
    command: 'profile',
    created_at: new Date().toISOString(),
    metadata: i.metadata,
    environment: i.environment,
    engine: { backend: i.backend, build: i.build },
    model: modelInfo(i.plan),
    settings: i.settings,
    prompt_ids: i.promptIds,
    unit_names: i.unitNames,
    runs: i.runs,
    summary,
  }, 'the profile just measured');
}
