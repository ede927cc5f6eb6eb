// The environment report: machine facts, the engine build, and optionally measured memory and
// disk bandwidth, validated against the schema result files are read with. This module is the
// entry point of bench/env for the commands.
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { loadAddon } from '../engine/native.js';
import { UserError } from '../errors.js';
import { machineFingerprint } from './fingerprint.js';
import { measureDiskRead, measureMemoryBandwidth } from './measure.js';
import { locateStorage } from './storage.js';
import { collectSystemFacts } from './system.js';
import { EnvironmentReportSchema, type EnvironmentReport } from './types.js';

export { machineFingerprint } from './fingerprint.js';
export { runMetadata } from './run-metadata.js';
export { EnvironmentReportSchema, RunMetadataSchema, type EnvironmentReport, type RunMetadata } from './types.js';

export interface CollectOptions {
  /** Also measure memory and disk read bandwidth (a few seconds). */
  measure: boolean;
  /** The folder whose storage is located and measured; the model's own folder is the honest choice. Default: the OS temp folder. */
  diskDir?: string;
}

function engineBuild(): EnvironmentReport['engine_build'] {
  const b = loadAddon().buildInfo();
  return { compiler: b.compiler, flags: b.flags, build_type: b.buildType, backends: b.backends, timers: b.timers, cpu_kernels: b.cpuKernels };
}

export async function collectEnvironment(options: CollectOptions): Promise<EnvironmentReport> {
  const started = performance.now();
  const collectedAt = new Date().toISOString();
  const diskDir = resolve(options.diskDir ?? tmpdir());
  if (!statSync(diskDir, { throwIfNoEntry: false })?.isDirectory()) throw new UserError(`${diskDir} is not a directory`);

  const { facts, unavailable } = await collectSystemFacts();
  const storage = locateStorage(diskDir);
  if (typeof storage === 'string') unavailable.push(storage);
  // After the probes, so their child processes do not disturb the measurements.
  const measured = options.measure ? { memory_bandwidth: await measureMemoryBandwidth(), disk_read: await measureDiskRead(diskDir) } : null;

  return EnvironmentReportSchema.parse({
    schema_version: 1,
    collected_at: collectedAt,
    collect_ms: performance.now() - started,
    machine_fingerprint: machineFingerprint(facts),
    ...facts,
    storage: typeof storage === 'string' ? null : storage,
    node_version: process.version,
    engine_build: engineBuild(),
    measured,
    unavailable,
  } satisfies EnvironmentReport);
}
