// A generation's timeline in the Chrome Trace Event Format, which Perfetto (ui.perfetto.dev) and
// chrome://tracing open: each run a process, each thread that ran a phase a lane (compute, the
// units' prefetch thread, the experts' prefetch thread, and on a device its transfer and compute
// streams), each step a span holding its units' phase spans. Times are the engine's own, from one
// steady clock (the device's placed on it), in microseconds.
import { statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { NativeBuildInfo } from '../engine/native.js';
import type { StepRecord, TraceLane } from '../engine/records.js';
import type { RunMetadata } from '../env/types.js';
import { UserError } from '../errors.js';

export interface TracedRun {
  index: number;
  warmup: boolean;
  steps: StepRecord[];
}

export interface TraceContext {
  metadata: RunMetadata;
  machine: string;
  build: NativeBuildInfo;
  backend: string;
  model: string;
}

interface CompleteEvent {
  ph: 'X';
  name: string;
  cat: string;
  pid: number;
  tid: number;
  ts: number;
  dur: number;
  args: Record<string, unknown>;
}

interface MetadataEvent {
  ph: 'M';
  name: 'process_name' | 'process_sort_index' | 'thread_name' | 'thread_sort_index';
  pid: number;
  tid?: number;
  args: { name: string } | { sort_index: number };
}

export type TraceEvent = CompleteEvent | MetadataEvent;

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: Record<string, unknown>;
}

export const LANES: Record<TraceLane, { tid: number; name: string }> = {
  compute: { tid: 1, name: 'compute thread' },
  prefetch: { tid: 2, name: 'prefetch thread (units)' },
  expert_prefetch: { tid: 3, name: 'prefetch thread (experts)' },
  device_copy: { tid: 4, name: 'device: transfer stream' },
  device_compute: { tid: 5, name: 'device: compute stream' },
};

const us = (ns: number) => ns / 1000;

function stepName(step: StepRecord, index: number): string {
  return step.kind === 'prefill' ? `prefill (${step.tokens} tokens)` : `decode step ${index}`;
}

function runEvents(run: TracedRun, pid: number): TraceEvent[] {
  if (run.steps.some((s) => s.startNs === undefined || s.spans === undefined)) {
    throw new Error(`run ${run.index} was measured without a trace: generate it with trace: true`);
  }
  const label = `${run.warmup ? 'warm-up' : 'run'} ${run.index}`;
  const events: TraceEvent[] = [
    { ph: 'M', name: 'process_name', pid, args: { name: label } },
    { ph: 'M', name: 'process_sort_index', pid, args: { sort_index: pid } },
  ];
  const lanes = new Set<TraceLane>(['compute']);
  run.steps.forEach((step, s) => {
    const units = step.units.map((u) => u.name);
    events.push({
      ph: 'X', name: stepName(step, s), cat: 'step', pid, tid: LANES.compute.tid, ts: us(step.startNs!), dur: us(step.wallNs),
      args: { step: s, kind: step.kind, tokens: step.tokens, position: step.position },
    });
    for (const span of step.spans!) {
      lanes.add(span.lane);
      const args: Record<string, unknown> = { step: s, unit: span.unit >= 0 ? units[span.unit] : null };
      if (span.expert !== undefined) args.expert = span.expert;
      if (span.bytes !== undefined) args.bytes = span.bytes;
      if (span.used === false) args.used = false;
      events.push({ ph: 'X', name: span.phase, cat: span.phase, pid, tid: LANES[span.lane].tid, ts: us(span.startNs), dur: us(span.durNs), args });
    }
  });
  for (const lane of lanes) {
    const { tid, name } = LANES[lane];
    events.push({ ph: 'M', name: 'thread_name', pid, tid, args: { name } }, { ph: 'M', name: 'thread_sort_index', pid, tid, args: { sort_index: tid } });
  }
  return events;
}

export function chromeTrace(runs: TracedRun[], context: TraceContext): ChromeTrace {
  return {
    traceEvents: runs.flatMap((run, i) => runEvents(run, i + 1)),
    displayTimeUnit: 'ms',
    otherData: {
      tool: 'rabbit-bench',
      model: context.model,
      machine: context.machine,
      backend: context.backend,
      engine_build: context.build,
      git_commit: context.metadata.git_commit,
      git_dirty: context.metadata.git_dirty,
      command: context.metadata.command,
      started_at: context.metadata.started_at,
    },
  };
}

/** A trace that cannot be written is found out before the measuring, not after it. */
export function checkTracePath(path: string): void {
  const folder = statSync(dirname(resolve(path)), { throwIfNoEntry: false });
  if (!folder?.isDirectory()) throw new UserError(`--trace ${path}: the folder ${dirname(resolve(path))} does not exist`, 2);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new UserError(`--trace ${path} is a folder; give a file name such as trace.json`, 2);
}

/** Writes the trace where the user asked; a path that cannot be written is their error, said plainly. */
export function saveTrace(path: string, trace: ChromeTrace): void {
  try {
    writeFileSync(path, `${JSON.stringify(trace)}\n`);
  } catch (err) {
    throw new UserError(`--trace ${path}: cannot write the trace (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 2);
  }
}
