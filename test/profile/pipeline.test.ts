// The profile pipeline without the native engine: a fake engine's runs -> measureRuns ->
// buildProfileFile -> the file read back through its schema -> profileReport -> every printer.
// The scenarios' times are exact, so what each table must say follows from them by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { measureRuns } from '../../bench/profile/measure.js';
import { profileReport } from '../../bench/profile/render.js';
import { unitFacts } from '../../bench/profile/units.js';
import { render } from '../../bench/report/print.js';
import type { LoadPlan } from '../../bench/model/types.js';
import type { ProfileFile } from '../../bench/results/profile-schema.js';
import { parseProfileFile } from '../../bench/results/read.js';
import { chromeTrace } from '../../bench/trace/chrome-trace.js';
import { FakeEngine, type Scenario } from '../helpers/fake-engine.js';
import { FAKE_BUILD, FAKE_METADATA, fakeProfile, fakeSettings, fakeUnits, tinyPlan } from '../helpers/fake-profile.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';
import { traceProblems } from '../helpers/trace.js';

const tempDir = tempDirs();
const PROMPT = [5, 17, 42, 7, 99, 3, 64, 12];
const STEPS = 5; // one prefill, four decode steps
const RUNS = 3;
// Unit weights: the embedding is light, lm_head the heaviest; their sum W scales every step.
const WEIGHTS = { embed: 0.5, 'layers.0': 1, 'layers.1': 2, lm_head: 3 };
const W = 6.5;

let plan: LoadPlan;
beforeAll(() => {
  plan = tinyPlan(tempDir('rb-pipeline-'));
});

const scenario = (s: Omit<Scenario, 'units'>): Scenario => ({ units: fakeUnits(plan, WEIGHTS), ...s });

async function profileOf(s: Scenario, settings: Partial<Parameters<typeof fakeSettings>[0]> = {}): Promise<ProfileFile> {
  const file = await fakeProfile(new FakeEngine(s), plan, fakeSettings({ promptTokens: PROMPT.length, maxNewTokens: STEPS, runs: RUNS, ...settings }), PROMPT);
  // What a later `rabbit-bench report` or `diff` reads: the file as written, through its schema.
  return parseProfileFile(JSON.parse(JSON.stringify(file)), 'the fake profile');
}

/** The rows of the report's table whose title starts with `title`. */
function rowsOf(file: ProfileFile, title: string, maxLayers = 8): string[][] {
  return profileReport(file, maxLayers).tables.find((t) => t.title.startsWith(title))!.rows;
}

describe('a compute-bound run (loads of 0.5 ms on the prefetch thread, forward 2 ms, per unit weight)', () => {
  // Every load is shorter than the unit before computes, so nothing waits: a step is W x 2 ms of
  // forward, then 0.2 ms of sampling.
  let file: ProfileFile;
  beforeAll(async () => {
    file = await profileOf(scenario({ background: true, loadMs: 0.5, forwardMs: 2, sampleMs: 0.2 }));
  });

  it('phases per run are the scenario\'s, and their shares of wall time', () => {
    const s = file.summary;
    const step = 2 * W + 0.2;
    expect(s.measured_runs).toBe(RUNS);
    expect(s.phases.forward_per_layer.median).toBeCloseTo(STEPS * 2 * W, 9);
    expect(s.phases.load_safe_tensor.median).toBeCloseTo(STEPS * 0.5 * W, 9);
    expect(s.phases.load_safe_tensor_cpu_wait.median).toBe(0);
    expect(s.phases.sampling.median).toBeCloseTo(STEPS * 0.2, 9);
    expect(s.phases.unaccounted.median).toBe(0);
    expect(s.wall_ms.median).toBeCloseTo(STEPS * step, 9);
    expect(s.phases.forward_per_layer.share).toBeCloseTo((2 * W) / step, 9);
    expect(s.phases.load_safe_tensor.share).toBeCloseTo((0.5 * W) / step, 9);
    expect(s.background_load).toBe(true);
  });

  it('TTFT is the prefill and its sampling; decode speed follows from a decode step', () => {
    const s = file.summary;
    const step = 2 * W + 0.2;
    expect(s.prefill.tokens).toBe(PROMPT.length);
    expect(s.prefill.ttft_ms.median).toBeCloseTo(step, 9);
    expect(s.decode.steps).toBe(STEPS - 1);
    expect(s.decode.ms_per_token!.median).toBeCloseTo(step, 9);
    expect(s.decode.tok_per_s!.median).toBeCloseTo(1000 / step, 9);
  });

  it('bytes: each unit whole per step, the embedding one row per token', () => {
    const facts = unitFacts(plan);
    const row = facts[0].bytes / plan.spec.vocabSize;
    const layers = facts.slice(1).reduce((a, u) => a + u.bytes, 0);
    expect(file.summary.bytes_per_decode_step).toBe(layers + row);
    expect(file.summary.bytes_read.median).toBe(STEPS * layers + (PROMPT.length + STEPS - 1) * row);
    expect(file.summary.layers.find((l) => l.name === 'lm_head')).toMatchObject({ unit_bytes: facts.at(-1)!.bytes, bytes_per_decode_step: facts.at(-1)!.bytes });
  });

  it('the verdict is compute-bound', () => {
    expect(file.summary.verdict.bottleneck).toBe('compute');
    expect(file.summary.verdict.line).toMatch(/^compute-bound: forward_per_layer takes 98% of wall time/);
  });

  it('the slowest units table lists the heaviest first, with their medians per decode step', () => {
    const rows = rowsOf(file, 'Slowest units');
    expect(rows.map((r) => r[0])).toEqual(['lm_head', 'layers.1', 'layers.0', 'embed']);
    // lm_head: load 0.5 x 3, forward 2 x 3; the load ran on the prefetch thread but is the unit's.
    expect(rows[0].slice(1, 7)).toEqual(['1.500', '0.000', '0.000', '6.000', '0.000', '7.500']);
    expect(rowsOf(file, 'Slowest units', 2).map((r) => r[0])).toEqual(['lm_head', 'layers.1']);
  });

  it('every printer draws the same report; json is the file, and the file alone rebuilds the report', () => {
    const report = profileReport(file, 8);
    const json = render(report, 'json');
    const reread = parseProfileFile(JSON.parse(json), 'the printed json');
    expect(reread).toEqual(file);
    const rebuilt = profileReport(reread, 8);
    expect({ ...rebuilt, data: null }).toEqual({ ...report, data: null });

    const table = render(report, 'table');
    expect(table).toMatch(/Slowest units \(median ms per decode step; 4 of 4\)/);
    expect(table.indexOf('│ lm_head')).toBeLessThan(table.indexOf('│ layers.1'));
    expect(table).toContain(`verdict: ${file.summary.verdict.line}`);

    const md = render(report, 'md');
    expect(md).toContain('| lm_head | 1.500 | 0.000 | 0.000 | 6.000 | 0.000 | 7.500 |');
    expect(md).toMatch(/\| forward_per_layer \| 65\.0 \| 65\.0 \| 65\.0 \| 0\.0 \| 98\.5% \|/);

    // The CSV holds the raw samples: each step's wall is the sum of its units' foreground phases.
    const [head, ...lines] = render(report, 'csv').trim().split('\n').map((l) => l.split(','));
    const rows = lines.map((l) => Object.fromEntries(head.map((h, i) => [h, l[i]])));
    expect(rows).toHaveLength((1 + RUNS) * STEPS * (4 * 5 + 2));
    const walls = rows.filter((r) => r.phase === 'wall' && r.warmup !== '1'); // csv-stringify writes true as 1, false as ''
    expect(walls).toHaveLength(RUNS * STEPS);
    for (const r of walls) expect(Number(r.ns)).toBe(2 * W * 1e6);
  });
});

describe('a load-bound run (loads of 2 ms on the prefetch thread, forward 1 ms, per unit weight)', () => {
  // Each unit waits for its load less what the unit before computed: max(0, 2 w_i - w_(i-1)) ms,
  // i.e. 0 + 1.5 + 3 + 4 = 8.5 ms a step, beside W x 1 ms of forward.
  const WAIT = 8.5;

  it('the compute thread waits, and the verdict says the loads are the limit: the page cache\'s when it served them', async () => {
    const file = await profileOf(scenario({ background: true, loadMs: 2, forwardMs: 1 }));
    const s = file.summary;
    expect(s.phases.load_safe_tensor_cpu_wait.median).toBeCloseTo(STEPS * WAIT, 9);
    expect(s.wall_ms.median).toBeCloseTo(STEPS * (WAIT + W), 9);
    expect(s.phases.load_safe_tensor_cpu_wait.share).toBeCloseTo(WAIT / (WAIT + W), 9);
    expect(s.verdict.bottleneck).toBe('page-cache');
    expect(s.verdict.line).toMatch(/^page-cache copy-bound .*: prefetch waits 57% of wall time because loading \(65\.0 ms\) takes longer than compute \(32\.5 ms\)/);
    expect(s.device_bytes_read).toBeNull();
    expect(rowsOf(file, 'Slowest units').map((r) => r[0])).toEqual(['lm_head', 'layers.1', 'layers.0', 'embed']);
  });

  it('the disk\'s when the devices delivered the bytes (a cold read)', async () => {
    const file = await profileOf(scenario({ background: true, loadMs: 2, forwardMs: 1, deviceShare: 1 }), { cold: 'step' });
    expect(file.summary.cache).toBe('cold-step');
    expect(file.summary.page_cache_share).toBe(0);
    expect(file.summary.device_bytes_read!.median).toBe(file.summary.bytes_read.median);
    expect(file.summary.verdict.bottleneck).toBe('disk');
    expect(file.summary.verdict.line).toMatch(/^disk-bound \(the disk delivered 100% of the bytes read\)/);
  });

  it('loads in the foreground (no prefetch) count against the wall, and the verdict says prefetch would hide them', async () => {
    const file = await profileOf(scenario({ background: false, loadMs: 2, forwardMs: 1 }), { prefetch: false });
    const s = file.summary;
    expect(s.background_load).toBe(false);
    expect(s.phases.load_safe_tensor_cpu_wait.median).toBe(0);
    expect(s.wall_ms.median).toBeCloseTo(STEPS * 3 * W, 9);
    expect(s.phases.load_safe_tensor.share).toBeCloseTo(2 / 3, 9);
    expect(s.verdict.line).toMatch(/^page-cache copy-bound .*: load_safe_tensor takes 67% of wall time \(prefetch is off: turning it on hides loads behind compute\)/);
  });
});

describe('the fake engine', () => {
  it('records a trace whose spans nest as the engine\'s do, on the threads that ran them', async () => {
    const engine = new FakeEngine(scenario({ background: true, loadMs: 2, forwardMs: 1, createMs: 0.25, kvFillMs: 0.1, sampleMs: 0.2, overheadMs: 0.05 }));
    const m = await measureRuns(engine, { promptIds: PROMPT, maxNewTokens: STEPS, runs: 2, warmup: 1, trace: true });
    const trace = chromeTrace(m.traces, { metadata: FAKE_METADATA, machine: 'fake', build: FAKE_BUILD, backend: engine.backend, model: 'tiny' });
    expect(traceProblems(trace)).toEqual([]);
    const steps = m.traces[1].steps;
    // Every span of a step lies between its start and the next step's.
    for (let i = 0; i + 1 < steps.length; i++) {
      for (const span of steps[i].spans!.filter((x) => x.lane === 'compute')) {
        expect(span.startNs).toBeGreaterThanOrEqual(steps[i].startNs!);
        expect(span.startNs + span.durNs).toBeLessThanOrEqual(steps[i + 1].startNs!);
      }
    }
    expect(steps[0].spans!.filter((x) => x.phase === 'load_safe_tensor').every((x) => x.lane === 'prefetch')).toBe(true);
  });

  it('says what a run cost in CPU time: every phase on either thread, waiting excluded', async () => {
    const file = await profileOf(scenario({ background: true, loadMs: 2, forwardMs: 1, sampleMs: 0.2 }));
    const cpuMs = file.runs.filter((r) => !r.warmup).map((r) => r.cpu_ns! / 1e6);
    for (const c of cpuMs) expect(c).toBeCloseTo(STEPS * (2 * W + W + 0.2), 9);
  });
});

describe('profiles written by older versions', () => {
  it('every committed profile result reads, and rebuilds its report', () => {
    const profiles: unknown[] = [];
    const visit = (doc: unknown): void => {
      if (doc === null || typeof doc !== 'object') return;
      if ((doc as { schema?: unknown }).schema === 'rabbit-bench/profile@1') profiles.push(doc);
      else Object.values(doc).forEach(visit);
    };
    const results = join(REPO_ROOT, 'results');
    for (const f of readdirSync(results, { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.json'))) {
      visit(JSON.parse(readFileSync(join(results, f), 'utf8')));
    }
    expect(profiles.length).toBeGreaterThan(0);
    for (const doc of profiles) {
      const report = profileReport(parseProfileFile(doc, 'a committed result'), 8);
      // Not the CSV: it is every raw sample, slow to write for these files, and drawn from the runs alone.
      for (const format of ['table', 'json', 'md'] as const) expect(render(report, format).length).toBeGreaterThan(0);
    }
  });

  it('a file from before the byte and device counts gets what its runs tell, and null for what they cannot', async () => {
    const file = await profileOf(scenario({ background: true, loadMs: 0.5, forwardMs: 2 }));
    const old = JSON.parse(JSON.stringify(file));
    for (const key of ['bytes_per_decode_step', 'dtypes', 'device_bytes_read', 'page_cache_share', 'device_read_limit_mb_per_s', 'experts']) delete old.summary[key];
    for (const layer of old.summary.layers) for (const key of ['unit_bytes', 'bytes_per_decode_step', 'dtypes']) delete layer[key];
    const read = parseProfileFile(old, 'an old file').summary;
    expect(read.bytes_per_decode_step).toBe(file.summary.bytes_per_decode_step);
    expect(read.layers.map((l) => l.bytes_per_decode_step)).toEqual(file.summary.layers.map((l) => l.bytes_per_decode_step));
    expect(read).toMatchObject({ dtypes: {}, device_bytes_read: null, page_cache_share: null, device_read_limit_mb_per_s: null, experts: null });
    expect(read.layers.every((l) => l.unit_bytes === null && Object.keys(l.dtypes).length === 0)).toBe(true);
  });
});
