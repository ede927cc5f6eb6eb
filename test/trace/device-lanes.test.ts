// A device backend's own streams in the trace: each streamed unit's copy on the transfer stream's
// lane, each forward (its kv_fill inside) and the lm_head on the compute stream's lane. On the
// emulated device (the CPU backend behind the device code paths, whose streams are the host's own
// work) everywhere; on CUDA, whose spans are its streams' events placed on the host clock, where a
// GPU is.
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine, type EngineOptions, type GenerateResult } from '../../bench/engine/engine.js';
import { loadAddon } from '../../bench/engine/native.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { chromeTrace, LANES } from '../../bench/trace/chrome-trace.js';
import { runMetadata } from '../../bench/env/run-metadata.js';
import { GPU_SUITE, STATUS } from '../cuda/helpers.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';
import { completeEvents, traceProblems } from '../helpers/trace.js';

async function generate(dir: string, options: EngineOptions, trace: boolean): Promise<GenerateResult> {
  const engine = InferenceEngine.open(buildLoadPlan(dir), options);
  try {
    return await engine.generate({ promptIds: [5, 17, 99, 3, 42, 8], maxNewTokens: 4, stopOnEos: false, trace });
  } finally {
    engine.close();
  }
}

const DEVICES = [
  // Host times: exact to the nanosecond.
  { name: 'emulated device', options: { emulateDevice: true } as EngineOptions, skip: false, slackUs: 1e-3 },
  // Event times placed through an anchor event: within the anchor wait's wake-up.
  { name: GPU_SUITE, options: { device: 'cuda' } as EngineOptions, skip: !STATUS.available, slackUs: 100 },
];

describe.each(DEVICES)('device lanes in the trace: $name', ({ options, skip, slackUs }) => {
  let dir: string;
  beforeAll(() => {
    dir = buildFixtures(TEST_FIXTURES_DIR)['llama-tied-gqa-f32'];
  });

  it.skipIf(skip)('every streamed unit is copied on the transfer stream and computed on the compute stream, in its step', async () => {
    const r = await generate(dir, options, true);
    const trace = chromeTrace([{ index: 0, warmup: false, steps: r.steps }], {
      metadata: runMetadata(process.argv), machine: 'test', build: loadAddon().buildInfo(), backend: 'device', model: 'fixture',
    });
    expect(traceProblems(trace)).toEqual([]);
    const events = completeEvents(trace);
    const names = r.steps[0].units.map((u) => u.name);
    const layers = names.filter((n) => n.startsWith('layers.'));
    r.steps.forEach((_, s) => {
      const on = (lane: keyof typeof LANES, phase: string) =>
        events.filter((e) => e.tid === LANES[lane].tid && e.name === phase && e.args.step === s).map((e) => e.args.unit);
      // Streamed: every layer and the lm_head copied once per step; the embedding is rows, not a unit.
      expect(on('device_copy', 'create_layer').sort()).toEqual([...layers, 'lm_head'].sort());
      expect(on('device_compute', 'forward_per_layer').sort()).toEqual([...layers, 'lm_head'].sort());
      expect(on('device_compute', 'kv_fill').sort()).toEqual([...layers].sort());
      const stepSpan = events.find((e) => e.cat === 'step' && e.args.step === s)!;
      for (const e of events.filter((x) => (x.tid === LANES.device_copy.tid || x.tid === LANES.device_compute.tid) && x.args.step === s)) {
        expect(e.ts, `${e.name} ${e.args.unit}`).toBeGreaterThanOrEqual(stepSpan.ts - slackUs);
        expect(e.ts + e.dur, `${e.name} ${e.args.unit}`).toBeLessThanOrEqual(stepSpan.ts + stepSpan.dur + slackUs);
      }
    });
    // Each unit is copied before it is computed.
    for (const unit of [...layers, 'lm_head']) {
      const copy = events.find((e) => e.tid === LANES.device_copy.tid && e.args.step === 1 && e.args.unit === unit)!;
      const forward = events.find((e) => e.tid === LANES.device_compute.tid && e.name === 'forward_per_layer' && e.args.step === 1 && e.args.unit === unit)!;
      expect(copy.ts + copy.dur, unit).toBeLessThanOrEqual(forward.ts + slackUs);
    }
  });

  it.skipIf(skip)('resident: units are copied in the first step only', async () => {
    const r = await generate(dir, { ...options, resident: true }, true);
    const copies = (s: number) => (r.steps[s].spans ?? []).filter((x) => x.lane === 'device_copy').length;
    expect(copies(0)).toBeGreaterThan(0);
    expect(copies(1)).toBe(0);
  });

  it.skipIf(skip)('without a trace, no spans at all', async () => {
    const off = await generate(dir, options, false);
    expect(off.steps.every((s) => s.spans === undefined)).toBe(true);
  });
});

it('the CPU backend has no device lanes', async () => {
  const dir = buildFixtures(TEST_FIXTURES_DIR)['llama-tied-gqa-f32'];
  const cpu = await generate(dir, {}, true);
  expect(cpu.steps.flatMap((s) => s.spans ?? []).filter((x) => x.lane.startsWith('device_'))).toEqual([]);
});
