// rabbit-bench's GGUF writer and quantizers against what llama.cpp writes: float tensors
// byte-identical to llama.cpp's converter, quantization error no worse than llama-quantize's on
// the same weights, the same type mixes, and `rabbit-bench quantize` end to end.
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../bench/engine/native.js';
import { readGgufHeader, type GgufTensorInfo } from '../../bench/model/gguf/reader.js';
import { usesMoreBits } from '../../bench/quantize/mix.js';
import { interleaveRows, deinterleaveRows } from '../../bench/quantize/qk-order.js';
import { quantizeModel } from '../../bench/quantize/quantize.js';
import { quantizeReport } from '../../bench/quantize/report.js';
import { render } from '../../bench/report/print.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { HAS_SHARED_GGUF, QUANT_SAMPLES_DIR, SHARED_GGUF_SUITE, STORIES_DIR, STORIES_GGUF_DIR, TEST_FIXTURES_DIR } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';

const temp = tempDirs();

function bytesOf(file: string, t: GgufTensorInfo): Buffer {
  const buf = Buffer.alloc(t.bytes);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, t.bytes, t.offset);
  } finally {
    closeSync(fd);
  }
  return buf;
}

function tensorOf(file: string, name: string) {
  const t = readGgufHeader(file).tensors.find((x) => x.name === name)!;
  return { info: t, bytes: bytesOf(file, t) };
}

describe('Q/K row order', () => {
  it('interleaving and restoring are inverse, and move row s*D/2+i to 2i+s', () => {
    const rows = Float32Array.from({ length: 2 * 8 * 3 }, (_, i) => Math.floor(i / 3));
    const inter = interleaveRows(rows, 8, 3);
    expect(Array.from({ length: 16 }, (_, r) => inter[3 * r])).toEqual([0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15]);
    expect(Array.from(deinterleaveRows(inter, 8, 3))).toEqual(Array.from(rows));
  });

  it('llama.cpp picks the layers that get more bits the same way', () => {
    expect([0, 1].map((i) => usesMoreBits(i, 2))).toEqual([false, true]);
    expect(Array.from({ length: 16 }, (_, i) => usesMoreBits(i, 16)).flatMap((b, i) => (b ? [i] : []))).toEqual([0, 1, 4, 7, 10, 13, 14, 15]);
  });
});

describe.skipIf(!HAS_SHARED_GGUF)(`against ${SHARED_GGUF_SUITE}`, () => {
  it('stories260K to F32, F16 and BF16: every tensor byte-identical to llama.cpp\'s converter (Q/K interleaving included)', () => {
    for (const type of ['F32', 'F16', 'BF16']) {
      const out = join(temp('rb-q-'), `s-${type}.gguf`);
      quantizeModel({ model: STORIES_DIR, type, out, force: false });
      const theirs = join(STORIES_GGUF_DIR, `stories260K-${type.toLowerCase()}.gguf`);
      const ours = readGgufHeader(out).tensors;
      expect(ours.map((t) => t.name).sort()).toEqual(readGgufHeader(theirs).tensors.map((t) => t.name).sort());
      for (const t of ours) {
        const other = tensorOf(theirs, t.name);
        expect(t.ggmlType.name, t.name).toBe(other.info.ggmlType.name);
        expect(t.dims, t.name).toEqual(other.info.dims);
        expect(bytesOf(out, t).equals(other.bytes), `${type} ${t.name}`).toBe(true);
      }
    }
  });

  it('quantization error no worse than llama-quantize\'s on the same weights (within 2%), for every type', () => {
    const addon = loadAddon();
    // The reference weights: the Q8_0 sample's ffn_up, as close to the original f32 as any file here.
    const name = 'blk.0.ffn_up.weight';
    const q8 = tensorOf(join(QUANT_SAMPLES_DIR, 'llama-256-Q8_0.gguf'), name);
    const weights = addon.dequantize('Q8_0', new Uint8Array(q8.bytes));
    const cols = q8.info.dims[0];
    const rel = (a: Float32Array) => {
      let e = 0, s = 0;
      for (let i = 0; i < a.length; i++) e += (a[i] - weights[i]) ** 2, s += weights[i] ** 2;
      return Math.sqrt(e / s);
    };
    const samples: Record<string, string> = { Q6_K: 'Q6_K', Q5_K: 'Q5_K_M', Q5_1: 'Q5_1', Q5_0: 'Q5_0', Q4_K: 'Q4_K_M', Q4_1: 'Q4_1', Q4_0: 'Q4_0', Q3_K: 'Q3_K_M', Q2_K: 'Q2_K' };
    for (const [type, file] of Object.entries(samples)) {
      const theirs = tensorOf(join(QUANT_SAMPLES_DIR, `llama-256-${file}.gguf`), name);
      expect(theirs.info.ggmlType.name).toBe(type);
      const ours = rel(addon.dequantize(type, addon.quantize(type, weights, cols)));
      const llama = rel(addon.dequantize(type, new Uint8Array(theirs.bytes)));
      expect(ours, `${type}: ours ${ours}, llama-quantize ${llama}`).toBeLessThan(llama * 1.02);
      expect(ours).toBeGreaterThan(0);
    }
    expect(rel(addon.dequantize('Q8_0', addon.quantize('Q8_0', weights, cols)))).toBe(0);
  });

  it('each mix puts the types on the tensors llama-quantize put them on', () => {
    const dir = temp('rb-q-');
    for (const type of ['Q2_K', 'Q3_K_M', 'Q4_0', 'Q4_1', 'Q4_K_M', 'Q5_0', 'Q5_1', 'Q5_K_M', 'Q6_K', 'Q8_0']) {
      const sample = join(QUANT_SAMPLES_DIR, `llama-256-${type}.gguf`);
      const out = join(dir, `${type}.gguf`);
      quantizeModel({ model: sample, type, out, force: false });
      const types = (f: string) => Object.fromEntries(readGgufHeader(f).tensors.map((t) => [t.name, t.ggmlType.name]));
      expect(types(out), type).toEqual(types(sample));
    }
  });
});

describe('rabbit-bench quantize', () => {
  it('stories260K to Q8_0: still the Lily story, fewer bytes per token, and the fallbacks named', async () => {
    const out = join(temp('rb-q-'), 's.gguf');
    const r = await runCli(['quantize', '--model', STORIES_DIR, '--type', 'Q8_0', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.decode_bytes_ratio).toBeLessThan(0.45);
    expect(report.notes.some((n: string) => /ffn_down.*172 values.*F16/.test(n))).toBe(true);
    const g = await runCli(['generate', '--model', out, '--prompt', 'Once upon a time', '--max-new-tokens', '20', '--greedy']);
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout).toMatch(/^, there was a little girl named Lily/);
  });

  it('its report, as a table, Markdown or CSV, is drawn from the JSON document alone and counts the tensors the file holds', async () => {
    const out = join(temp('rb-q-'), 's.gguf');
    const run = (format: string[]) => runCli(['quantize', '--model', STORIES_DIR, '--type', 'Q4_0', '--out', out, '--force', ...format]);
    const json = await run(['--format', 'json']);
    expect(json.status, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.schema).toBe('rabbit-bench/quantize@1');
    const inFile: Record<string, number> = {};
    for (const t of readGgufHeader(out).tensors) inFile[t.ggmlType.name] = (inFile[t.ggmlType.name] ?? 0) + 1;
    const md = await run(['--format', 'md']);
    expect(md.status, md.stderr).toBe(0);
    const rows = [...md.stdout.matchAll(/^\| (\w+) \| (\d+) \|$/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(inFile);
    // Only the time it took differs between two runs.
    const untimed = (s: string) => s.replace(/ in [\d.]+ s\b/, ' in … s');
    expect(untimed(render(quantizeReport(doc), 'md'))).toBe(untimed(md.stdout));
    const table = await run([]);
    expect(table.stdout).toMatch(/Tensor types\n┌/);
    expect(table.stdout).toMatch(/wrote .*s\.gguf \(Q4_0, [\d.]+ MiB\) from safetensors float32/);
    expect(table.stdout).toMatch(/a decode token reads [\d.]+ MiB of weights, 0\.\d{3}x the source's/);
    const csv = await run(['--format', 'csv']);
    expect(csv.stdout.split('\n').slice(0, 2)).toEqual(['Tensor types', 'type,tensors']);
  });

  it('a Mistral sliding window, which GGUF cannot record, is named in the report', () => {
    const mistral = buildFixtures(TEST_FIXTURES_DIR)['mistral-mqa-swa-f16'];
    const report = quantizeModel({ model: mistral, type: 'F16', out: join(temp('rb-q-'), 'm.gguf'), force: false });
    expect(report.warnings).toContainEqual(expect.stringMatching(/sliding window is not kept/));
    expect(quantizeModel({ model: STORIES_DIR, type: 'F16', out: join(temp('rb-q-'), 's.gguf'), force: false }).warnings).toEqual([]);
  });

  it('refuses a bad type, an existing --out without --force, and --out = the input', async () => {
    const dir = temp('rb-q-');
    const bad = await runCli(['quantize', '--model', STORIES_DIR, '--type', 'Q3_0', '--out', join(dir, 'x.gguf')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--type must be one of .*Q4_K_M/);
    const out = join(dir, 'y.gguf');
    expect((await runCli(['quantize', '--model', STORIES_DIR, '--type', 'F16', '--out', out])).status).toBe(0);
    const again = await runCli(['quantize', '--model', STORIES_DIR, '--type', 'F16', '--out', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/exists; pass --force/);
    const self = await runCli(['quantize', '--model', out, '--type', 'Q8_0', '--out', out, '--force']);
    expect(self.status).toBe(2);
    expect(self.stderr).toMatch(/--out is the input file/);
  });
});
