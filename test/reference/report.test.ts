// `rabbit-bench parity`'s output: one JSON document, and a report in every format drawn from that
// document alone, against transformers (a golden reference) and against llama.cpp.
import { describe, expect, it } from 'vitest';
import { compareWithReference, F32_TOLERANCE, judgeParity } from '../../bench/reference/compare.js';
import { PARITY_SCHEMA, parityReport, type HfParityDoc, type LlamaCppParityDoc } from '../../bench/reference/report.js';
import { render } from '../../bench/report/print.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { goldenPath } from '../fixtures/golden.js';
import { runCli } from '../helpers/cli.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';

const FIXTURE = 'llama-tied-gqa-f32';

describe('parity against a golden transformers reference', () => {
  const model = buildFixtures(TEST_FIXTURES_DIR)[FIXTURE];
  const parity = (...args: string[]) => runCli(['parity', '--model', model, '--reference', goldenPath(FIXTURE), ...args]);

  it('--json is one tagged document; Markdown and the table are its report, rebuilt alike from the JSON', async () => {
    const json = await parity('--json');
    expect(json.status, json.stderr).toBe(0);
    expect(json.stdout.trim().split('\n')).toHaveLength(1);
    const doc = JSON.parse(json.stdout) as HfParityDoc;
    expect(Object.keys(doc)).toEqual(['schema', 'model', 'reference', 'weights_check', 'tolerance', 'cases', 'pass']);
    expect(doc).toMatchObject({ schema: PARITY_SCHEMA, weights_check: { status: 'match' }, pass: true });
    expect(doc.cases.map((c) => c.name)).toEqual(expect.arrayContaining(['short', 'long']));

    const md = await parity('--format', 'md');
    expect(md.status, md.stderr).toBe(0);
    expect(render(parityReport(doc), 'md')).toBe(md.stdout);
    for (const c of doc.cases) {
      expect(md.stdout).toContain(`| ${c.name} | ${c.prompt_tokens} | ${c.metrics.cosine.toFixed(8)} |`);
    }
    expect(md.stdout).toMatch(/parity PASS against transformers [\d.]+\n$/);

    const table = await parity();
    expect(table.status).toBe(0);
    expect(render(parityReport(doc), 'table')).toBe(table.stdout);
    expect(table.stdout).toMatch(/│ case\s+│ prompt tok\s+│ cosine/);
  });

  it('a tolerance no engine meets fails, exit 1, naming each case and why', async () => {
    const r = await parity('--min-cosine', '1.5', '--format', 'csv');
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[1]).toBe('case,prompt tok,cosine,max |Δ|,max |ref|,top-1,top-5,greedy,verdict');
    expect(lines.slice(2).every((l) => l.endsWith(',FAIL'))).toBe(true);
    const json = JSON.parse((await parity('--min-cosine', '1.5', '--json')).stdout) as HfParityDoc;
    expect(json.pass).toBe(false);
    expect(parityReport(json).notes).toEqual([
      ...json.cases.map((c) => `${c.name}: ${c.failures.join('; ')}`),
      expect.stringMatching(/^parity FAIL against transformers/),
    ]);
    expect(json.cases[0].failures[0]).toMatch(/^cosine [\d.]+ < 1\.5$/);
  });
});

describe('parityReport', () => {
  it('a non-finite metric reads the same from memory (NaN) and from JSON (null)', () => {
    const logits = [1, NaN, 2];
    const metrics = compareWithReference(logits, [1, 3, 2], [0], [1]);
    const doc: HfParityDoc = {
      schema: PARITY_SCHEMA, model: 'm', reference: { transformers_version: '4.0', torch_version: '2.0', attn_implementation: 'eager' },
      weights_check: { status: 'skipped', reason: 'no hashes' }, tolerance: F32_TOLERANCE,
      cases: [{ name: 'nan', prompt_tokens: 3, metrics, ...judgeParity(metrics, F32_TOLERANCE) }], pass: false,
    };
    const fromJson = JSON.parse(JSON.stringify(doc));
    expect(fromJson.cases[0].metrics.maxAbsDiff).toBeNull();
    expect(render(parityReport(fromJson), 'md')).toBe(render(parityReport(doc), 'md'));
    expect(parityReport(doc).tables[0].rows[0].slice(0, 5)).toEqual(['nan', '3', 'non-finite', 'non-finite', '3.000']);
    expect(parityReport(doc).tables[0].rows[0].at(-1)).toBe('FAIL');
    expect(parityReport(fromJson).header).toContain('tolerance: cosine ≥ 0.99999, max |Δ| ≤ 0.001 × max |ref|, every greedy token');
    expect(parityReport(doc).notes.at(-1)).toBe('parity FAIL against transformers 4.0 (weights not verified: no hashes)');
  });

  it('against llama.cpp: its own columns, and the build it ran', () => {
    const doc: LlamaCppParityDoc = {
      schema: PARITY_SCHEMA, model: 'm.gguf',
      reference: { llama_cpp: { node_llama_cpp: '3.21.1', llama_cpp_release: 'b6000', llama_cpp_repo: 'ggml-org/llama.cpp', build_type: 'cpu', system_info: '', threads: 4 } },
      tolerance: { minTop5Overlap: 4, maxProbDiff: 0.03 },
      cases: [
        { name: 'short', prompt_tokens: 5, metrics: { top1Match: true, top5Overlap: 5, maxProbDiff: 0.004, greedyPrefix: 8, greedyLength: 8 }, pass: true, failures: [] },
        { name: 'long', prompt_tokens: 495, metrics: { top1Match: false, top5Overlap: 3, maxProbDiff: 0.2, greedyPrefix: 2, greedyLength: 8 }, pass: false, failures: ['top-1 token differs'] },
      ],
      pass: false,
    };
    const r = parityReport(JSON.parse(JSON.stringify(doc)));
    expect(r.tables[0].head).toEqual(['case', 'prompt tok', 'top-1', 'top-5', 'max |Δp| top-5', 'greedy', 'verdict']);
    expect(r.tables[0].rows).toEqual([['short', '5', 'same', '5/5', '4.00e-3', '8/8', 'pass'], ['long', '495', 'DIFF', '3/5', '2.00e-1', '2/8', 'FAIL']]);
    expect(r.notes).toEqual(['long: top-1 token differs', 'parity FAIL against llama.cpp b6000 (node-llama-cpp 3.21.1, cpu, 4 threads)']);
  });
});
