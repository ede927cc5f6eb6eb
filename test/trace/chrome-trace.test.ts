// profile --trace and generate --trace: a trace Perfetto can open (checked structurally), whose
// spans are the engine's records: each unit's phase spans add up to the profile's samples of the
// same run, and a read sits on the lane of the thread that did it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ProfileFile } from '../../bench/results/profile-schema.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import type { ChromeTrace } from '../../bench/trace/chrome-trace.js';
import { LANES } from '../../bench/trace/chrome-trace.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR, STORIES_SUITE, TEST_FIXTURES_DIR } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';
import { completeEvents, traceProblems } from '../helpers/trace.js';

const tempDir = tempDirs();
const ns = (us: number) => Math.round(us * 1000);

async function profileWithTrace(model: string, extra: string[]): Promise<{ file: ProfileFile; trace: ChromeTrace }> {
  const path = join(tempDir('rb-trace-'), 'trace.json');
  const r = await runCli(['profile', '--model', model, '--no-save', '--no-measure-env', '--json', '--trace', path, ...extra]);
  expect(r.status, r.stderr).toBe(0);
  return { file: JSON.parse(r.stdout) as ProfileFile, trace: JSON.parse(readFileSync(path, 'utf8')) as ChromeTrace };
}

/** The summed durations (ns) of one phase's spans, per run, step and unit name. */
function phaseSums(trace: ChromeTrace, phase: string, filter: (args: Record<string, unknown>) => boolean = () => true): Map<string, number> {
  const sums = new Map<string, number>();
  for (const e of completeEvents(trace)) {
    if (e.name !== phase || !filter(e.args)) continue;
    const key = `${e.pid - 1}/${e.args.step}/${e.args.unit}`;
    sums.set(key, (sums.get(key) ?? 0) + ns(e.dur));
  }
  return sums;
}

describe.skipIf(!HAS_STORIES)(`profile --trace (${STORIES_SUITE})`, () => {
  it('writes a well-formed trace: each run a process, loads on the prefetch lane, spans equal to the records', async () => {
    const { file, trace } = await profileWithTrace(STORIES_DIR, ['--runs', '2', '--warmup', '1', '--prompt-tokens', '12', '--max-new-tokens', '4']);
    expect(traceProblems(trace)).toEqual([]);
    expect(trace.otherData).toMatchObject({ tool: 'rabbit-bench', model: 'stories260K', git_commit: file.metadata.git_commit, command: file.metadata.command });
    const events = completeEvents(trace);
    expect(new Set(events.map((e) => e.pid))).toEqual(new Set([1, 2, 3]));
    expect(events.filter((e) => e.cat === 'step')).toHaveLength(3 * 4);

    const loads = phaseSums(trace, 'load_safe_tensor');
    const waits = phaseSums(trace, 'load_safe_tensor_cpu_wait');
    const creates = phaseSums(trace, 'create_layer');
    const kv = phaseSums(trace, 'kv_fill');
    const forwards = phaseSums(trace, 'forward_per_layer');
    file.runs.forEach((run, r) => run.steps.forEach((step, s) => file.unit_names.forEach((unit, u) => {
      const key = `${r}/${s}/${unit}`;
      // A µs float per span: sums agree with the records to within a nanosecond per span.
      expect(Math.abs((loads.get(key) ?? 0) - step.load_ns[u]), `load ${key}`).toBeLessThanOrEqual(2);
      expect(Math.abs((waits.get(key) ?? 0) - step.cpu_wait_ns[u]), `wait ${key}`).toBeLessThanOrEqual(2);
      expect(Math.abs((creates.get(key) ?? 0) - step.create_ns[u]), `create ${key}`).toBeLessThanOrEqual(2);
      expect(Math.abs((kv.get(key) ?? 0) - step.kv_fill_ns[u]), `kv_fill ${key}`).toBeLessThanOrEqual(2);
      // forward_per_layer's span holds kv_fill; its self time is the record's forward.
      if (unit !== 'embed') expect(Math.abs((forwards.get(key) ?? 0) - (kv.get(key) ?? 0) - step.forward_ns[u]), `forward ${key}`).toBeLessThanOrEqual(4);
    })));

    // Where a load ran is where the records say it ran.
    for (const e of events.filter((x) => x.name === 'load_safe_tensor')) {
      const run = file.runs[e.pid - 1];
      const u = file.unit_names.indexOf(e.args.unit as string);
      const background = run.steps[e.args.step as number].load_in_background[u];
      expect(e.tid, `${e.args.unit} step ${e.args.step}`).toBe(background ? LANES.prefetch.tid : LANES.compute.tid);
    }
    expect(events.some((e) => e.tid === LANES.prefetch.tid)).toBe(true);
    expect(events.filter((e) => e.name === 'sampling')).toHaveLength(3 * 4);
  });

  it('--no-prefetch: every read on the compute thread, no prefetch lane', async () => {
    const { trace } = await profileWithTrace(STORIES_DIR, ['--runs', '1', '--warmup', '0', '--prompt-tokens', '8', '--max-new-tokens', '3', '--no-prefetch']);
    expect(traceProblems(trace)).toEqual([]);
    const events = completeEvents(trace);
    expect(events.filter((e) => e.name === 'load_safe_tensor').length).toBeGreaterThan(0);
    expect(events.every((e) => e.tid === LANES.compute.tid)).toBe(true);
    expect(trace.traceEvents.some((e) => e.ph === 'M' && e.name === 'thread_name' && e.tid === LANES.prefetch.tid)).toBe(false);
  });

  it('generate --trace writes one run; a --trace folder that does not exist exits 2 before generating', async () => {
    const path = join(tempDir('rb-trace-'), 'g.json');
    const r = await runCli(['generate', '--model', STORIES_DIR, '--prompt-ids', '1,2,3', '--max-new-tokens', '3', '--ignore-eos', '--trace', path]);
    expect(r.status, r.stderr).toBe(0);
    const trace = JSON.parse(readFileSync(path, 'utf8')) as ChromeTrace;
    expect(traceProblems(trace)).toEqual([]);
    expect(completeEvents(trace).filter((e) => e.cat === 'step').map((e) => e.name)).toEqual(['prefill (3 tokens)', 'decode step 1', 'decode step 2']);
    const bad = await runCli(['profile', '--model', STORIES_DIR, '--no-save', '--trace', '/nonexistent-rb/t.json']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--trace \/nonexistent-rb\/t\.json: the folder \/nonexistent-rb does not exist/);
    expect(bad.stderr).not.toMatch(/runs/);
  });
});

describe('profile --trace of a mixture-of-experts model', () => {
  let model: string;
  beforeAll(() => {
    model = buildFixtures(TEST_FIXTURES_DIR)['mixtral-8x-top2-bf16'];
  });

  it('each routed expert read is a span with its id, inside its layer; reads ahead on the experts\' prefetch lane', async () => {
    const { file, trace } = await profileWithTrace(model, ['--runs', '1', '--warmup', '0', '--prompt-tokens', '10', '--max-new-tokens', '6', '--expert-cache', '0']);
    expect(traceProblems(trace)).toEqual([]);
    const events = completeEvents(trace);
    const run = file.runs[0];
    run.steps.forEach((step, s) => file.unit_names.forEach((unit, u) => {
      const experts = step.experts?.[u];
      if (!experts) return;
      const read = events.filter((e) => e.name === 'load_safe_tensor' && e.args.step === s && e.args.unit === unit && e.args.expert !== undefined && e.args.used !== false);
      // Cache 0: every routed expert is read, once, each step.
      expect(read.map((e) => e.args.expert).sort((a, b) => (a as number) - (b as number)), `${unit} step ${s}`).toEqual(experts.used);
      expect(read.filter((e) => e.tid === LANES.expert_prefetch.tid)).toHaveLength(experts.prefetched);
      const forward = events.find((e) => e.name === 'forward_per_layer' && e.args.step === s && e.args.unit === unit)!;
      for (const e of read.filter((x) => x.tid === LANES.compute.tid)) {
        expect(e.ts).toBeGreaterThanOrEqual(forward.ts);
        expect(e.ts + e.dur).toBeLessThanOrEqual(forward.ts + forward.dur + 1e-6);
      }
    }));
    expect(events.some((e) => e.tid === LANES.expert_prefetch.tid)).toBe(true);
  });
});
