// Engine step records <-> the compact column-wise samples stored in result files.
import type { ExpertRecord, StepRecord } from '../engine/records.js';
import type { ExpertSample, StepSample } from './profile-schema.js';

export function toStepSample(step: StepRecord): StepSample {
  const col = <K extends keyof StepRecord['units'][number]>(key: K) => step.units.map((u) => u[key]);
  return {
    kind: step.kind,
    tokens: step.tokens,
    position: step.position,
    wall_ns: step.wallNs,
    sample_ns: step.sampleNs,
    peak_rss_bytes: step.peakRssBytes,
    device_bytes_read: step.deviceBytesRead,
    load_ns: col('loadNs'),
    bytes_read: col('bytesRead'),
    cpu_wait_ns: col('cpuWaitNs'),
    create_ns: col('createNs'),
    forward_ns: col('forwardNs'),
    kv_fill_ns: col('kvFillNs'),
    load_in_background: col('loadInBackground'),
    ...(step.units.some((u) => u.experts) ? { experts: step.units.map((u) => (u.experts ? expertSample(u.experts) : null)) } : {}),
  };
}

function expertSample(e: ExpertRecord): ExpertSample {
  return {
    used: e.used, loaded: e.loaded, prefetched: e.prefetched, cached: e.cached, guessed: e.guessed, guessed_used: e.guessedUsed,
    bytes_read: e.bytesRead, load_ns: e.loadNs, prefetch_load_ns: e.prefetchLoadNs, wait_ns: e.waitNs, create_ns: e.createNs,
  };
}

function expertRecord(e: ExpertSample): ExpertRecord {
  return {
    used: e.used, loaded: e.loaded, prefetched: e.prefetched, cached: e.cached, guessed: e.guessed, guessedUsed: e.guessed_used,
    bytesRead: e.bytes_read, loadNs: e.load_ns, prefetchLoadNs: e.prefetch_load_ns, waitNs: e.wait_ns, createNs: e.create_ns,
  };
}

export function fromStepSample(s: StepSample, unitNames: readonly string[]): StepRecord {
  return {
    kind: s.kind,
    tokens: s.tokens,
    position: s.position,
    wallNs: s.wall_ns,
    sampleNs: s.sample_ns,
    peakRssBytes: s.peak_rss_bytes,
    deviceBytesRead: s.device_bytes_read ?? null,
    units: unitNames.map((name, i) => {
      const e = s.experts?.[i];
      return {
        name,
        loadNs: s.load_ns[i],
        bytesRead: s.bytes_read[i],
        cpuWaitNs: s.cpu_wait_ns[i],
        createNs: s.create_ns[i],
        forwardNs: s.forward_ns[i],
        kvFillNs: s.kv_fill_ns[i],
        loadInBackground: s.load_in_background[i],
        ...(e ? { experts: expertRecord(e) } : {}),
      };
    }),
  };
}
