import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StepRecord, UnitRecord } from '../../bench/engine/records.js';
import { ensureDefaultModel, ensureShapeModel, shapeModelName } from '../../bench/synth/models.js';
import { aggregateRows } from '../../bench/vs-hf/aggregate.js';
import { parseChildOutput } from '../../bench/vs-hf/children.js';
import { engineSpeedReport, measurementFrom, wallOverBound } from '../../bench/vs-hf/measurement.js';
import { agreeingPrefix, plausibilityNotes } from '../../bench/vs-hf/notes.js';
import { parseVsHfArgs } from '../../bench/vs-hf/options.js';
import { render } from '../../bench/report/print.js';
import { resultTable, vsHfReport } from '../../bench/vs-hf/render.js';
import { EngineSpeedSchema, HfSpeedSchema, VS_HF_SCHEMA, VsHfFileSchema, type Measurement, type ModelEntry, type Row, type VsHfFile } from '../../bench/vs-hf/schema.js';
import { evaluateTargets, TARGETS } from '../../bench/vs-hf/targets.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../synth/helpers.js';
import { BUILD, DISK, ENVIRONMENT, METADATA, failed, measured, memoryBandwidth, model } from './helpers.js';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

const bw = { memory: 20e9, pageCache: 5e9 };

/** Rows for one model × dtype with the engine's and HF sdpa's medians as given (one round each). */
function rowsFor(models: ModelEntry[], figures: Record<string, { prefill: number; decode: number; phases?: { wall_ns: number; load_ns: number; compute_ns: number } }>): Row[] {
  const ms: Measurement[] = [];
  for (const m of models) {
    for (const [runner, f] of Object.entries(figures)) {
      const key = runner.split('@');
      if (key[1] && key[1] !== m.dtype) continue;
      ms.push(measured(0, m.model, m.dtype, key[0] as Measurement['runner'], f));
    }
  }
  return aggregateRows(ms, models, bw);
}

describe('targets', () => {
  const m = model('tiny', 'bf16', 100e6); // memory limit: 200 tok/s

  it('pass exactly at each threshold and miss just below (above for the streaming overhead)', () => {
    const at = rowsFor([m], {
      'engine-resident': { prefill: 150, decode: 140 }, // 2.0× sdpa decode, 70% of 200 tok/s, 1.5× prefill
      'engine-streaming': { prefill: 1, decode: 1, phases: { wall_ns: 110, load_ns: 100, compute_ns: 40 } },
      'hf-sdpa': { prefill: 100, decode: 70 },
    });
    const byId = (checks: ReturnType<typeof evaluateTargets>) => Object.fromEntries(checks.map((c) => [c.id, c]));
    const pass = byId(evaluateTargets(at, [m], null));
    expect(pass['resident-decode-vs-sdpa']).toMatchObject({ status: 'PASS', value: TARGETS.residentDecodeVsSdpa, scope: 'tiny bf16' });
    expect(pass['resident-decode-roofline'].status).toBe('PASS');
    expect(pass['resident-decode-roofline'].value).toBeCloseTo(70, 10);
    expect(pass['prefill-vs-sdpa']).toMatchObject({ status: 'PASS', value: 1.5 });
    expect(pass['streaming-overlap'].status).toBe('PASS');
    expect(pass['streaming-overlap'].value).toBeCloseTo(1.1, 10);
    expect(pass['bf16-faster-than-f32']).toMatchObject({ status: 'not measured', detail: 'needs both --dtypes f32,bf16' });

    const below = rowsFor([m], {
      'engine-resident': { prefill: 149, decode: 139 },
      'engine-streaming': { prefill: 1, decode: 1, phases: { wall_ns: 111, load_ns: 100, compute_ns: 40 } },
      'hf-sdpa': { prefill: 100, decode: 70 },
    });
    const miss = byId(evaluateTargets(below, [m], null));
    for (const id of ['resident-decode-vs-sdpa', 'resident-decode-roofline', 'prefill-vs-sdpa', 'streaming-overlap']) expect(miss[id].status, id).toBe('MISS');
    expect(miss['resident-decode-vs-sdpa'].detail).toContain('engine 139 tok/s vs HF sdpa 70.0 tok/s');
  });

  it('bf16 must decode faster than f32 on the same model', () => {
    const models = [model('tiny', 'f32', 200e6), model('tiny', 'bf16', 100e6)];
    const checks = (bf16: number) => evaluateTargets(rowsFor(models, { 'engine-resident@f32': { prefill: 1, decode: 50 }, 'engine-resident@bf16': { prefill: 1, decode: bf16 } }), models, null)
      .filter((c) => c.id === 'bf16-faster-than-f32');
    expect(checks(60)).toMatchObject([{ status: 'PASS', scope: 'tiny', value: 1.2 }]);
    expect(checks(50)[0].status).toBe('MISS');
  });

  it('without transformers the comparisons are "not measured" with the reason, the engine-only targets still count', () => {
    const rows = rowsFor([m], { 'engine-resident': { prefill: 150, decode: 150 } });
    const checks = evaluateTargets(rows, [m], 'no Python with transformers');
    const vs = checks.filter((c) => c.id === 'resident-decode-vs-sdpa' || c.id === 'prefill-vs-sdpa');
    expect(vs.map((c) => c.status)).toEqual(['not measured', 'not measured']);
    expect(vs[0].detail).toBe('transformers not measured: no Python with transformers');
    expect(checks.find((c) => c.id === 'resident-decode-roofline')?.status).toBe('PASS');
    expect(checks.find((c) => c.id === 'streaming-overlap')).toMatchObject({ status: 'not measured', detail: 'engine streaming not run' });
  });

  it('a runner that failed every round is "not measured" with its error', () => {
    const rows = aggregateRows([failed(0, 'tiny', 'bf16', 'engine-resident', 'engine resident failed (killed by SIGSEGV)'),
      measured(0, 'tiny', 'bf16', 'hf-sdpa', { prefill: 1, decode: 1 })], [m], bw);
    const check = evaluateTargets(rows, [m], null).find((c) => c.id === 'resident-decode-vs-sdpa')!;
    expect(check.status).toBe('not measured');
    expect(check.detail).toContain('killed by SIGSEGV');
  });
});

function exampleFile(rows: Row[], measurements: Measurement[], models: ModelEntry[], hfReason: string | null = null): VsHfFile {
  return {
    schema: VS_HF_SCHEMA,
    created_at: '2026-11-22T00:10:00.000Z',
    wall_s: 100,
    metadata: METADATA,
    environment: ENVIRONMENT,
    settings: { models: ['tiny'], dtypes: ['bf16'], rounds: 1, prompt_tokens: 512, decode_tokens: 32, threads: 2, omp_wait_policy: 'passive', runners: ['engine-resident', 'engine-streaming', 'hf-eager', 'hf-sdpa'] },
    engine: { build: BUILD, threads: 2 },
    hf: { available: hfReason === null, reason: hfReason, python: '/venv/bin/python', torch_version: '2.13.0', transformers_version: '5.18.0', threads: 2 },
    bandwidth: { memory_start: memoryBandwidth(20), memory_end: memoryBandwidth(19), memory_used: 20e9, memory_used_from: 'STREAM triad best, higher of start and end', disk: DISK, page_cache_used: 8e9 },
    models,
    measurements,
    rows,
    targets: evaluateTargets(rows, models, hfReason),
    notes: ['a note'],
  };
}

describe('rendering and the result file', () => {
  const m = model('tiny', 'bf16', 100e6);
  const ms = [
    measured(0, 'tiny', 'bf16', 'engine-resident', { prefill: 300, decode: 50, rss: 400 * 2 ** 20 }),
    failed(0, 'tiny', 'bf16', 'engine-streaming'),
    measured(0, 'tiny', 'bf16', 'hf-sdpa', { prefill: 100, decode: 20, rss: 1000 * 2 ** 20 }),
  ];
  const rows = aggregateRows(ms, [m], bw);
  const file = exampleFile(rows, ms, [m]);

  it('one table row per runner with the medians, ratios and roofline', () => {
    const t = resultTable(file);
    expect(t.head).toEqual(['model', 'dtype', 'runner', 'prefill tok/s', 'decode tok/s', 'peak RSS MiB', 'prefill ÷ HF sdpa', 'decode ÷ HF sdpa', 'roofline tok/s', '% of roofline']);
    expect(t.rows[0]).toEqual(['tiny', 'bf16', 'engine-resident', '300.0', '50.0', '400', '3.00×', '2.50×', '200.0 (mem)', '25.0%']);
    expect(t.rows[1]).toEqual(['tiny', 'bf16', 'engine-streaming (0/1 ok)', 'failed', '-', '-', '-', '-', '-', '-']);
    expect(t.rows[2].slice(2, 8)).toEqual(['hf-sdpa', '100.0', '20.0', '1000', '1.00×', '1.00×']);
    expect(t.title).toContain('median of 1 round · prompt 512 tok · 32 decode tokens · 2 threads');
  });

  const term = (f: VsHfFile) => render(vsHfReport(f), 'table');

  it('terminal, Markdown and CSV carry the same figures and the checklist', () => {
    const out = term(file);
    expect(out).toContain('transformers 5.18.0 · torch 2.13.0');
    expect(out).toContain('2.50×');
    expect(out).toMatch(/PASS\s*│\s*resident decode ≥ 2× transformers sdpa\s*│\s*tiny bf16\s*│\s*2\.50×/);
    expect(out).toContain('note: a note');
    expect(out).toContain('OMP_WAIT_POLICY passive for both');
    // Since peers run with their own defaults the file says what each got.
    expect(term({ ...file, settings: { ...file.settings, hf_omp_wait_policy: null } }))
      .toContain("OMP_WAIT_POLICY: engine passive, transformers unset (torch's default): each with its own default");
    // Since the engine's own pool replaced OpenMP, only transformers' policy is recorded.
    const { omp_wait_policy: _engine, ...poolSettings } = file.settings;
    expect(term({ ...file, settings: { ...poolSettings, hf_omp_wait_policy: 'passive' } }))
      .toContain("transformers OMP_WAIT_POLICY passive; the engine's own thread pool spins briefly, then sleeps");
    expect(term({ ...file, engine: { ...file.engine, build: { ...BUILD, cpuKernels: 'avx2' } } })).toContain('2 threads, cpuKernels avx2)');
    const md = render(vsHfReport(file), 'md');
    expect(md).toMatch(/^## rabbit-bench vs Hugging Face transformers\n/);
    expect(md).toContain('| model | dtype | runner | prefill tok/s |');
    expect(md).toContain('| tiny | bf16 | engine-resident | 300.0 | 50.0 | 400 | 3.00× | 2.50× | 200.0 (mem) | 25.0% |');
    expect(md).toMatch(/\| PASS \| resident decode ≥ 2× transformers sdpa \| tiny bf16 \| 2\.50×/);
    // The CSV keeps the rows' raw figures, one line per row.
    const csv = render(vsHfReport(file), 'csv').trim().split('\n');
    expect(csv).toHaveLength(1 + rows.length);
    expect(csv[0]).toMatch(/^model,dtype,runner,rounds,failed,prefill_tok_s,decode_tok_s,peak_rss_bytes,/);
    expect(csv[1]).toMatch(/^tiny,bf16,engine-resident,1,0,300,50,/);
    expect(csv[2]).toMatch(/^tiny,bf16,engine-streaming,0,1,,,/);
  });

  it('without transformers the header says why', () => {
    const alone = exampleFile(aggregateRows(ms.slice(0, 2), [m], bw), ms.slice(0, 2), [m], 'no .venv-hf');
    expect(term(alone)).toContain('transformers not measured: no .venv-hf');
    expect(term(alone)).toMatch(/not measured\s*│\s*resident decode ≥ 2× transformers sdpa\s*│\s*tiny bf16\s*│\s*transformers not measured: no \.venv-hf/);
  });

  it('the report is rebuilt from the JSON alone, the committed results included', () => {
    const report = vsHfReport(file);
    expect(report.kind).toBe('vs-hf');
    const again = vsHfReport(VsHfFileSchema.parse(JSON.parse(render(report, 'json'))));
    expect(again.tables).toEqual(report.tables);
    expect(again.header).toEqual(report.header);
    expect(again.notes).toEqual(report.notes);
    expect(again.csv).toEqual(report.csv);
    const dir = join(REPO_ROOT, 'results', 'vs-hf');
    const saved = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(saved.length).toBeGreaterThan(0);
    for (const f of saved) {
      const doc = VsHfFileSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
      const r = vsHfReport(doc);
      expect(r.tables[0].rows, f).toHaveLength(doc.rows.length);
      expect(r.tables[1].rows, f).toHaveLength(doc.targets.length);
      // The CSV printer writes what the benchmark wrote beside it.
      expect(render(r, 'csv'), f).toBe(readFileSync(join(dir, f.replace(/\.json$/, '.csv')), 'utf8'));
    }
  });

  it('the schema accepts the file and rejects a broken one', () => {
    expect(VsHfFileSchema.parse(JSON.parse(JSON.stringify(file)))).toEqual(file);
    expect(VsHfFileSchema.safeParse({ ...file, schema: 'rabbit-bench/vs-hf@2' }).success).toBe(false);
    expect(VsHfFileSchema.safeParse({ ...file, rows: [{ ...rows[0], runner: 'hf-flash' }] }).success).toBe(false);
    expect(VsHfFileSchema.safeParse({ ...file, targets: [{ ...file.targets[0], status: 'OK' }] }).success).toBe(false);
  });
});

const unit = (name: string, u: Partial<UnitRecord>): UnitRecord => ({
  name, loadNs: 0, bytesRead: 0, cpuWaitNs: 0, createNs: 0, forwardNs: 0, kvFillNs: 0, loadInBackground: true, ...u,
});
const step = (kind: 'prefill' | 'decode', tokens: number, wallNs: number, sampleNs: number, units: UnitRecord[]): StepRecord =>
  ({ kind, tokens, position: 0, wallNs, sampleNs, peakRssBytes: 1, deviceBytesRead: -1, units });

describe('the engine child report', () => {
  const steps = [
    step('prefill', 8, 4e9, 1e6, [unit('layers.0', { loadNs: 9e9, createNs: 1, forwardNs: 2 })]),
    step('decode', 1, 3e8, 1e6, [unit('layers.0', { loadNs: 1e8, createNs: 5e7, forwardNs: 1e8, kvFillNs: 1e7, bytesRead: 64 }), unit('lm_head', { loadNs: 5e7, forwardNs: 3e7, bytesRead: 32 })]),
    step('decode', 1, 2e8, 1e6, [unit('layers.0', { loadNs: 1e8, createNs: 5e7, forwardNs: 1e8, kvFillNs: 1e7, bytesRead: 64 }), unit('lm_head', { loadNs: 5e7, forwardNs: 3e7, bytesRead: 32 })]),
  ];
  const report = engineSpeedReport({ mode: 'streaming', threads: 2, build: BUILD, tokens: [1, 2, 3], steps, generateWallS: 4.6, peakRssBytes: 2 ** 27, cpuS: 9 });

  it('prefill is the TTFT, decode the decode steps with their sampling; phase sums only over decode steps', () => {
    expect(EngineSpeedSchema.parse(report)).toEqual(report);
    expect(report).toMatchObject({ prompt_tokens: 8, decode_tokens: 2, tokens: [1, 2, 3], cpu_s: 9 });
    expect(report.prefill_s).toBeCloseTo(4.001, 12);
    expect(report.decode_s).toBeCloseTo(0.502, 12);
    expect(report.decode_phases).toEqual({ steps: 2, wall_ns: 5.02e8, load_ns: 3e8, compute_ns: 3.8e8, bytes_read: 192 });
    expect(wallOverBound(report.decode_phases)).toBeCloseTo(5.02e8 / 3.8e8, 12);
  });

  it('becomes a measurement in tokens per second', () => {
    const where = { round: 1, model: 'tiny', dtype: 'bf16' as const, runner: 'engine-streaming' as const };
    const m = measurementFrom(where, { wallS: 5, otherCores: 0.1 }, report);
    expect(m.prefill_tok_s).toBeCloseTo(8 / 4.001, 12);
    expect(m.decode_tok_s).toBeCloseTo(2 / 0.502, 12);
    expect(m).toMatchObject({ error: null, wall_s: 5, other_cores: 0.1, threads: 2, peak_rss_bytes: 2 ** 27 });
    const hf = HfSpeedSchema.parse({ schema: 'rabbit-bench/hf-speed@1', attn_implementation: 'sdpa', dtype: 'float32', threads: 2, torch_version: '2', transformers_version: '5',
      logits_to_keep: true, prompt_tokens: 512, decode_tokens: 32, load_s: 1, prefill_s: 2, decode_s: 4, peak_rss_bytes: 1e9, cpu_s: 10, tokens: [1] });
    const h = measurementFrom({ ...where, runner: 'hf-sdpa' }, { wallS: 9, otherCores: null }, hf);
    expect(h).toMatchObject({ prefill_tok_s: 256, decode_tok_s: 8, decode_phases: null });
  });
});

describe('child output', () => {
  const ok = { status: 0, signal: null, stderr: '' };
  const report = { schema: 'rabbit-bench/hf-speed@1', attn_implementation: 'eager', dtype: 'float32', threads: 2, torch_version: '2', transformers_version: '5',
    logits_to_keep: true, prompt_tokens: 4, decode_tokens: 2, load_s: 1, prefill_s: 1, decode_s: 1, peak_rss_bytes: 1, cpu_s: 1, tokens: [] };

  it('is the last stdout line as JSON of the schema', () => {
    const r = parseChildOutput(HfSpeedSchema, { ...ok, stdout: `Loading weights...\n${JSON.stringify(report)}\n` }, 'transformers eager');
    expect(r).toEqual({ ok: true, report });
  });

  it('failures say what failed, how, and the stderr line that says why', () => {
    expect(parseChildOutput(HfSpeedSchema, { status: 1, signal: null, stdout: '', stderr: 'Traceback\nImportError: no torch\n' }, 'transformers eager'))
      .toEqual({ ok: false, error: 'transformers eager failed (exit 1): ImportError: no torch' });
    // An uncaught error in a Node child ends with Node's banner; the cause is the first error line.
    const node = "[node-llama-cpp] llama_model_load: error loading model: missing tensor 'blk.0.ffn_gate_inp.weight'\n" +
      'file:///x/LlamaModel.js:617\n    throw new Error("Failed to load model");\n    ^\n\nError: Failed to load model\n    at f (x.js:1:1)\n\nNode.js v20.20.2\n';
    expect(parseChildOutput(HfSpeedSchema, { status: 1, signal: null, stdout: '', stderr: node }, 'llama.cpp'))
      .toEqual({ ok: false, error: "llama.cpp failed (exit 1): [node-llama-cpp] llama_model_load: error loading model: missing tensor 'blk.0.ffn_gate_inp.weight'" });
    expect(parseChildOutput(HfSpeedSchema, { status: null, signal: 'SIGKILL', stdout: '', stderr: '' }, 'engine resident'))
      .toEqual({ ok: false, error: 'engine resident failed (killed by SIGKILL)' });
    expect(parseChildOutput(HfSpeedSchema, { ...ok, stdout: 'hello\n' }, 'x')).toMatchObject({ ok: false, error: expect.stringContaining('printed no JSON report') });
    expect(parseChildOutput(HfSpeedSchema, { ...ok, stdout: JSON.stringify({ ...report, dtype: 'bfloat16' }) }, 'x'))
      .toMatchObject({ ok: false, error: expect.stringContaining('dtype') });
    expect(parseChildOutput(HfSpeedSchema, { ...ok, stdout: '', error: new Error('spawn python ENOENT') }, 'x')).toEqual({ ok: false, error: 'x: spawn python ENOENT' });
  });
});

describe('notes on implausible figures', () => {
  const threads = 2;

  it('a decode above its roofline, and resident bf16 weights held as f32', () => {
    const m = model('tiny', 'bf16', 100e6);
    const rows = aggregateRows([measured(0, 'tiny', 'bf16', 'engine-resident', { prefill: 1, decode: 300, rss: 250e6 })], [m], bw);
    const notes = plausibilityNotes({ rows, measurements: [], models: [m], build: BUILD, l3Bytes: 300 * 2 ** 20, threads });
    expect(notes[0]).toMatch(/decodes at 150% of its roofline: its 95 MiB per token fit in the 300 MiB L3/);
    expect(notes[1]).toMatch(/peak RSS 238 MiB ≥ the weights in f32 \(191 MiB/);
    const quiet = aggregateRows([measured(0, 'tiny', 'bf16', 'engine-resident', { prefill: 1, decode: 100, rss: 150e6 })], [m], bw);
    expect(plausibilityNotes({ rows: quiet, measurements: [], models: [m], build: BUILD, l3Bytes: null, threads })).toEqual([]);
  });

  it('tokens that differ between resident and streaming, contention, and agreement with transformers', () => {
    const m = model('tiny', 'bf16');
    const ms = [
      measured(0, 'tiny', 'bf16', 'engine-resident', { prefill: 1, decode: 1, tokens: [1, 2, 3, 4] }),
      measured(0, 'tiny', 'bf16', 'engine-streaming', { prefill: 1, decode: 1, tokens: [1, 2, 9, 4], otherCores: 0.9 }),
      measured(0, 'tiny', 'bf16', 'hf-sdpa', { prefill: 1, decode: 1, tokens: [1, 2, 3, 7] }),
    ];
    const notes = plausibilityNotes({ rows: [], measurements: ms, models: [m], build: BUILD, l3Bytes: null, threads });
    expect(notes).toEqual([
      expect.stringContaining('resident and streaming generated different tokens (agree on 2 of 4)'),
      expect.stringContaining('agree on the first 3 of 4'),
      expect.stringMatching(/^1 of 3 measurements ran while other work .* round 1 tiny bf16 engine-streaming$/),
    ]);
    expect(agreeingPrefix([1, 2], [1, 2, 3])).toBe(2);
    const busy = Array.from({ length: 6 }, (_, r) => measured(r, 'tiny', 'bf16', 'hf-eager', { prefill: 1, decode: 1, otherCores: 0.5 + r / 10 }));
    expect(plausibilityNotes({ rows: [], measurements: [...busy, measured(6, 'tiny', 'bf16', 'hf-eager', { prefill: 1, decode: 1, otherCores: 0.5 })], models: [], build: BUILD, l3Bytes: null, threads }))
      .toEqual([expect.stringMatching(/^5 of 7 measurements .* \(up to 1\.00\): round 2 .*, round 5 tiny bf16 hf-eager, 1 more \(see other_cores in the JSON\)$/)]);
  });

  it('an engine rebuilt during the run', () => {
    const m = measured(0, 'tiny', 'bf16', 'engine-resident', { prefill: 1, decode: 1 });
    const rebuilt = { ...m, raw: { schema: 'rabbit-bench/engine-speed@1' as const, mode: 'resident' as const, threads: 2, build: { ...BUILD, flags: '-O2' }, prompt_tokens: 1, decode_tokens: 1,
      prefill_s: 1, decode_s: 1, generate_wall_s: 1, peak_rss_bytes: 1, cpu_s: 1, tokens: [], decode_phases: { steps: 1, wall_ns: 1, load_ns: 1, compute_ns: 1, bytes_read: 0 } } };
    const notes = plausibilityNotes({ rows: [], measurements: [rebuilt], models: [], build: BUILD, l3Bytes: null, threads });
    expect(notes).toEqual([expect.stringContaining('the engine build changed during the run')]);
    // Fields newer builds add survive the child report's schema, and key order does not matter.
    const newer = { ...BUILD, isaLevel: 'avx10' };
    const child = EngineSpeedSchema.parse({ ...rebuilt.raw, build: { isaLevel: 'avx10', ...BUILD } });
    expect(child.build).toEqual(newer);
    expect(plausibilityNotes({ rows: [], measurements: [{ ...m, raw: child }], models: [], build: newer, l3Bytes: null, threads })).toEqual([]);
  });
});

describe('options', () => {
  it('defaults follow the issue', () => {
    expect(parseVsHfArgs([])).toEqual({ models: ['smollm2-135m', 'qwen2.5-0.5b'], dtypes: ['f32', 'bf16'], rounds: 3, decodeTokens: 32, promptTokens: 512, python: undefined, hf: true, out: 'results/vs-hf' });
  });

  it('lists, numbers, --python and --no-hf', () => {
    const o = parseVsHfArgs(['--models', 'smollm2-135m', '--dtypes=bf16', '--rounds', '1', '--decode-tokens', '4', '--prompt-tokens', '32', '--python', '/x/python', '--no-hf', '--out', '/tmp/o']);
    expect(o).toEqual({ models: ['smollm2-135m'], dtypes: ['bf16'], rounds: 1, decodeTokens: 4, promptTokens: 32, python: '/x/python', hf: false, out: '/tmp/o' });
  });

  it('refuses unknown shapes, dtypes and flags, and counts below 1', () => {
    expect(() => parseVsHfArgs(['--models', 'gpt-5'])).toThrow(/unknown shape 'gpt-5'/);
    expect(() => parseVsHfArgs(['--dtypes', 'f16'])).toThrow(/unknown dtype 'f16'/);
    expect(() => parseVsHfArgs(['--rounds', '0'])).toThrow(/--rounds must be a whole number >= 1/);
    expect(() => parseVsHfArgs(['--decode-tokens', '2.5'])).toThrow(/--decode-tokens/);
    expect(() => parseVsHfArgs(['--bogus'])).toThrow(/bogus/);
  });
});

describe('synthetic models', () => {
  it('live beside the default model; the smollm2-135m bf16 one is the default model itself', () => {
    const cache = tempDir('vs-hf-cache');
    made.push(cache);
    const env = { XDG_CACHE_HOME: cache };
    const dir = join(cache, 'rabbit-bench', 'models', shapeModelName({ shape: 'smollm2-135m', dtype: 'bfloat16' }));
    expect(dir).toBe(join(cache, 'rabbit-bench', 'models', 'smollm2-135m-bf16-seed0-v1'));
    // A cached folder (one with config.json) is reused, not rewritten: both helpers return it.
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{}');
    expect(ensureDefaultModel(() => {}, env)).toBe(dir);
    expect(ensureShapeModel({ shape: 'smollm2-135m', dtype: 'bfloat16' }, () => { throw new Error('must not synthesise'); }, env).path).toBe(dir);
    expect(shapeModelName({ shape: 'qwen2.5-0.5b', dtype: 'float32' })).toBe('qwen2.5-0.5b-f32-seed0-v1');
  });
});
