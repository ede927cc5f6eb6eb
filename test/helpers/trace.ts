// A structural check of a Chrome Trace Event Format file, as Perfetto and chrome://tracing read
// it: well-formed complete events, a name for every thread that has any, and on each thread spans
// that nest (a span that began inside another ends inside it), which is what draws them as a stack.
import type { ChromeTrace, TraceEvent } from '../../bench/trace/chrome-trace.js';

type Complete = Extract<TraceEvent, { ph: 'X' }>;

/** Float microseconds from integer nanoseconds: ends may differ by rounding, not more. */
const EPS_US = 1e-6;

export function traceProblems(t: ChromeTrace): string[] {
  const problems: string[] = [];
  if (!Array.isArray(t.traceEvents)) return ['traceEvents is not an array'];
  const named = new Set<string>();
  const lanes = new Map<string, Complete[]>();
  for (const e of t.traceEvents) {
    if (e.ph === 'M') {
      if (e.name === 'thread_name') named.add(`${e.pid}/${e.tid}`);
      continue;
    }
    if (e.ph !== 'X') {
      problems.push(`unexpected phase ${JSON.stringify((e as { ph: unknown }).ph)}`);
      continue;
    }
    const ok = typeof e.name === 'string' && e.name.length > 0 && Number.isInteger(e.pid) && e.pid > 0 && Number.isInteger(e.tid) && e.tid > 0 &&
      Number.isFinite(e.ts) && Number.isFinite(e.dur) && e.dur >= 0 && typeof e.args === 'object';
    if (!ok) problems.push(`malformed event ${JSON.stringify(e)}`);
    const key = `${e.pid}/${e.tid}`;
    lanes.set(key, [...(lanes.get(key) ?? []), e]);
  }
  for (const [key, events] of lanes) {
    if (!named.has(key)) problems.push(`thread ${key} has events but no thread_name`);
    const sorted = [...events].sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    const stack: Complete[] = [];
    for (const e of sorted) {
      while (stack.length && e.ts >= stack[stack.length - 1].ts + stack[stack.length - 1].dur - EPS_US) stack.pop();
      const parent = stack[stack.length - 1];
      if (parent && e.ts + e.dur > parent.ts + parent.dur + EPS_US) {
        problems.push(`on thread ${key}, ${e.name} (${JSON.stringify(e.args)}) at ${e.ts} overlaps ${parent.name} (${JSON.stringify(parent.args)}) without nesting`);
      }
      stack.push(e);
    }
  }
  return problems;
}

export const completeEvents = (t: ChromeTrace) => t.traceEvents.filter((e): e is Complete => e.ph === 'X');
