import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { render } from '../../bench/report/print.js';
import { vsLlamaCppReport, vsLlamaRows } from '../../bench/vs-llama-cpp/bench.js';
import { VS_LLAMA_CPP_SCHEMA, VsLlamaCppFileSchema, type VsLlamaCppFile, type VsLlamaMeasurement } from '../../bench/vs-llama-cpp/schema.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { BUILD, ENVIRONMENT, METADATA, memoryBandwidth } from '../vs-hf/helpers.js';

const model = { shape: 's', type: 'Q8_0', file: '/m.gguf', weight_bytes_per_token: 100e6 };
const m = (round: number, runner: VsLlamaMeasurement['runner'], prefill: number | null, decode: number | null, error: string | null = null): VsLlamaMeasurement =>
  ({ round, shape: 's', type: 'Q8_0', runner, error, prefill_tok_s: prefill, decode_tok_s: decode, peak_rss_bytes: prefill === null ? null : 2 ** 28 });

const MEASUREMENTS = [
  m(0, 'engine-resident', 400, 50), m(0, 'engine-streaming', 380, 25), m(0, 'llama.cpp', 800, 100),
  m(1, 'engine-resident', 420, 60), m(1, 'engine-streaming', null, null, 'exit 1'), m(1, 'llama.cpp', 600, 90),
  m(2, 'engine-resident', 410, 55), m(2, 'engine-streaming', 390, 27), m(2, 'llama.cpp', 700, 110),
];

function exampleFile(measurements: VsLlamaMeasurement[], llama: VsLlamaCppFile['llama_cpp']): VsLlamaCppFile {
  return VsLlamaCppFileSchema.parse({
    schema: VS_LLAMA_CPP_SCHEMA,
    created_at: '2026-12-02T00:10:00.000Z',
    wall_s: 60,
    metadata: METADATA,
    environment: ENVIRONMENT,
    engine: { build: BUILD, threads: 2 },
    llama_cpp: llama,
    memory_bandwidth: memoryBandwidth(30),
    settings: { shapes: ['s'], types: ['Q8_0'], rounds: 3, prompt_tokens: 512, decode_tokens: 32, threads: 2 },
    models: [model],
    measurements,
    rows: vsLlamaRows([model], measurements, 30e9),
  });
}

const LLAMA = {
  build: { node_llama_cpp: '3.21.1', llama_cpp_release: 'b1234', llama_cpp_repo: 'ggml-org/llama.cpp', build_type: 'prebuilt', system_info: 'AVX2 = 1', threads: 2 },
  from: 'cache' as const,
  entry: '/cache/node-llama-cpp/dist/index.js',
};

describe('bench:vs-llama-cpp rows', () => {
  it('medians over rounds, ratios to llama.cpp from the same rounds, the roofline from the bandwidth', () => {
    const rows = vsLlamaRows([model], MEASUREMENTS, 30e9);
    expect(rows.map((r) => r.runner)).toEqual(['engine-resident', 'engine-streaming', 'llama.cpp']);
    const [resident, streaming, llama] = rows;
    expect(resident).toMatchObject({ rounds: 3, prefill_tok_s: 410, decode_tok_s: 55, decode_range: [50, 60], roofline_tok_s: 300 });
    expect(resident.prefill_vs_llama_cpp).toBeCloseTo(410 / 700, 12);
    expect(resident.decode_vs_llama_cpp).toBeCloseTo(0.55, 12);
    expect(resident.roofline_share).toBeCloseTo(55 / 300, 12);
    expect(streaming).toMatchObject({ rounds: 2, errors: ['round 2: exit 1'], decode_tok_s: 26 });
    expect(llama.decode_vs_llama_cpp).toBe(1);
  });

  it('without llama.cpp the engine rows have no ratios', () => {
    const [row] = vsLlamaRows([model], [m(0, 'engine-resident', 400, 50)], 30e9);
    expect(row).toMatchObject({ prefill_vs_llama_cpp: null, decode_vs_llama_cpp: null });
  });
});

describe('bench:vs-llama-cpp report', () => {
  const file = exampleFile(MEASUREMENTS, LLAMA);

  it('Markdown and the terminal show the same row figures, failures and what each runner measures', () => {
    const report = vsLlamaCppReport(file);
    const md = render(report, 'md');
    expect(md).toMatch(/^## rabbit-bench vs llama\.cpp\n/);
    expect(md).toContain('llama.cpp b1234 (node-llama-cpp 3.21.1, prebuilt, from the cache)');
    expect(md).toContain('roofline: STREAM triad 30.0 GB/s ÷ bytes per token');
    expect(md).toContain('| s | Q8_0 | engine-resident | 410.0 | 55.0 (50.0–60.0) | 0.59× | 0.55× | 300.0 | 18% | 256 |');
    expect(md).toContain('s Q8_0 engine-streaming failed: round 2: exit 1');
    expect(md).toMatch(/llama\.cpp: prefill = one llama_decode of the prompt/);
    const table = render(report, 'table');
    expect(table).toMatch(/engine-resident\s*│\s*410\.0\s*│\s*55\.0 \(50\.0–60\.0\)\s*│\s*0\.59×/);
    expect(table).toContain('s Q8_0 engine-streaming failed: round 2: exit 1');
  });

  it('the CSV is one line per child run, figures as measured, the error quoted where it has one', () => {
    const csv = render(vsLlamaCppReport(file), 'csv').trim().split('\n');
    expect(csv[0]).toBe('shape,type,runner,round,prefill_tok_s,decode_tok_s,peak_rss_bytes,error');
    expect(csv).toHaveLength(1 + MEASUREMENTS.length);
    expect(csv[1]).toBe(`s,Q8_0,engine-resident,0,400,50,${2 ** 28},`);
    expect(csv[5]).toBe('s,Q8_0,engine-streaming,1,,,,exit 1');
  });

  it('without llama.cpp the header says why and the ratios are n/a', () => {
    const alone = exampleFile([m(0, 'engine-resident', 400, 50)], { not_measured: 'no node-llama-cpp (npm run setup:llama-cpp)' });
    const out = render(vsLlamaCppReport(alone), 'table');
    expect(out).toContain('llama.cpp not measured: no node-llama-cpp (npm run setup:llama-cpp)');
    expect(out).toMatch(/engine-resident\s*│\s*400\.0\s*│\s*50\.0 \(50\.0–50\.0\)\s*│\s*n\/a\s*│\s*n\/a/);
  });

  it('the report is rebuilt from the JSON alone, the committed results included; the schema rejects a broken file', () => {
    const report = vsLlamaCppReport(file);
    const again = vsLlamaCppReport(VsLlamaCppFileSchema.parse(JSON.parse(render(report, 'json'))));
    expect(again).toEqual(report);
    expect(VsLlamaCppFileSchema.safeParse({ ...file, schema: 'rabbit-bench/bench-vs-llama-cpp@2' }).success).toBe(false);
    expect(VsLlamaCppFileSchema.safeParse({ ...file, rows: [{ ...file.rows[0], runner: 'vllm' }] }).success).toBe(false);
    const dir = join(REPO_ROOT, 'results', 'vs-llama-cpp');
    const saved = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(saved.length).toBeGreaterThan(0);
    for (const f of saved) {
      const doc = VsLlamaCppFileSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
      const r = vsLlamaCppReport(doc);
      expect(r.tables[0].rows, f).toHaveLength(doc.rows.length);
      // The same CSV columns as the benchmark wrote beside it.
      expect(render(r, 'csv').split('\n')[0], f).toBe(readFileSync(join(dir, f.replace(/\.json$/, '.csv')), 'utf8').split('\n')[0]);
    }
  });
});
