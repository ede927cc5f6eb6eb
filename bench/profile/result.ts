// Assembling a profile result file from measured runs, and writing its three forms.
import { resolve } from 'node:path';
import { deviceReadLimit, type EnvironmentReport, type RunMetadata } from '../env/types.js';
import type { NativeBuildInfo } from '../engine/native.js';
import type { LoadPlan } from '../model/types.js';
import { resultStem, writeResultFiles, type WrittenFiles } from '../results/files.js';
import { cacheMode, PROFILE_SCHEMA, type ProfileFile, type ProfileSettings, type RunSample } from '../results/profile-schema.js';
import { parseProfileFile } from '../results/read.js';
import { fromStepSample } from '../results/samples.js';
import { profileCsv } from './csv.js';
import { modelInfo } from './model-info.js';
import { footer, headline, profileTables, renderMarkdown } from './render.js';
import { mixEstimates } from '../quantize/estimate.js';
import { summarizeProfile, type ProfileSummary } from './summary.js';
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

export function profileMarkdown(file: ProfileFile, topLayers: number): string {
  const summary = file.summary as unknown as ProfileSummary;
  const tables = profileTables(summary, topLayers);
  return `## rabbit-bench profile\n\n${headline(file).replace('\n', '  \n')}\n\n${renderMarkdown(tables)}\n\n${footer(summary).join('  \n')}\n`;
}

export function saveProfile(file: ProfileFile, outDir: string, topLayers: number): WrittenFiles {
  return writeResultFiles(resolve(outDir), resultStem('profile', file.model.name), { json: file, csv: profileCsv(file), md: profileMarkdown(file, topLayers) });
}
