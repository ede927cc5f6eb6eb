// Dequantization bit for bit as gguf-py defines it (sha256 goldens of its float32 output for every
// tensor of every GGUF fixture and shared file), and the CPU kernels that read blocks in place,
// per instruction set, against those values.
import { createHash } from 'node:crypto';
import { existsSync, openSync, readFileSync, readSync, closeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../bench/engine/native.js';
import { readGgufHeader } from '../../bench/model/gguf/reader.js';
import { GGUF_GOLDEN_DIR, buildGgufFixtures } from '../fixtures/gguf.js';
import { HAS_SHARED_GGUF, QUANT_SAMPLES_DIR, REPO_ROOT, STORIES_GGUF_DIR } from '../helpers/paths.js';
import { runCommand } from '../helpers/run.js';

interface Hashes {
  files: Record<string, Record<string, { type: string; sha256: string }>>;
}

function tensorBytes(file: string, offset: number, bytes: number): Uint8Array {
  const buf = Buffer.alloc(bytes);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, bytes, offset);
  } finally {
    closeSync(fd);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

function expectHashes(file: string, hashes: Hashes) {
  const addon = loadAddon();
  const want = hashes.files[basename(file)];
  expect(want, `no dequantization golden for ${basename(file)}`).toBeDefined();
  const header = readGgufHeader(file);
  expect(header.tensors.map((t) => t.name).sort()).toEqual(Object.keys(want).sort());
  for (const t of header.tensors) {
    const values = addon.dequantize(t.ggmlType.name, tensorBytes(file, t.offset, t.bytes));
    const sha = createHash('sha256').update(Buffer.from(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
    expect(`${t.ggmlType.name} ${sha}`, `${basename(file)} ${t.name}`).toBe(`${want[t.name].type} ${want[t.name].sha256}`);
  }
}

describe('dequantization equals gguf-py, bit for bit', () => {
  const hashes = JSON.parse(readFileSync(join(GGUF_GOLDEN_DIR, 'dequant-sha256.json'), 'utf8')) as Hashes;
  let fixtures: Record<string, string>;
  beforeAll(() => {
    fixtures = buildGgufFixtures();
  });

  it('every tensor of every GGUF fixture (rabbit-bench writer)', () => {
    for (const file of Object.values(fixtures)) expectHashes(file, hashes);
  });

  it.skipIf(!HAS_SHARED_GGUF)('every tensor of every file llama.cpp wrote (needs ../shared/models)', () => {
    for (const f of ['stories260K-f32', 'stories260K-f16', 'stories260K-bf16']) expectHashes(join(STORIES_GGUF_DIR, `${f}.gguf`), hashes);
    for (const t of ['Q2_K', 'Q3_K_M', 'Q4_0', 'Q4_1', 'Q4_K_M', 'Q5_0', 'Q5_1', 'Q5_K_M', 'Q6_K', 'Q8_0']) {
      expectHashes(join(QUANT_SAMPLES_DIR, `llama-256-${t}.gguf`), hashes);
    }
  });

  it('a partial block or an unknown type is refused, not read past', () => {
    const addon = loadAddon();
    expect(() => addon.dequantize('Q4_K', new Uint8Array(100))).toThrow(/whole number of blocks/);
    expect(() => addon.dequantize('IQ2_XXS', new Uint8Array(66))).toThrow(/unsupported tensor dtype IQ2_XXS/);
  });
});

// Each instruction set in a child process of its own: the engine picks its kernels once.
const KERNEL_CHECK = `
import { loadAddon } from ${JSON.stringify(join(REPO_ROOT, 'dist/bench/engine/native.js'))};
const addon = loadAddon();
const types = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'F16', 'BF16'];
let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const rows = 40, cols = 768;
const w = Float32Array.from({ length: rows * cols }, rand);
const worst = {};
for (const type of types) {
  const bytes = addon.quantize(type, w, cols);
  const deq = addon.dequantize(type, bytes);
  for (const n of [1, 3, 8, 13]) {
    const x = Float32Array.from({ length: n * cols }, rand);
    const y = addon.gemm(type, bytes, rows, cols, x, n);
    let err = 0, scale = 0;
    for (let t = 0; t < n; t++) for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += x[t * cols + k] * deq[r * cols + k];
      err = Math.max(err, Math.abs(s - y[t * rows + r]));
      scale = Math.max(scale, Math.abs(s));
    }
    worst[type] = Math.max(worst[type] ?? 0, err / scale);
  }
}
console.log(JSON.stringify({ kernels: addon.buildInfo().cpuKernels, worst }));
`;

describe('CPU kernels on quantized weights: decode dot products and prefill panels, per instruction set', () => {
  const sets = ['portable', 'avx2', 'avx512'].filter((set) => set === 'portable' || cpuHas(set));
  for (const set of sets) {
    it(`${set}: every type within f32 rounding of the exact dequantized product (1, 3, 8 and 13 token rows)`, async () => {
      const r = await runCommand(process.execPath, ['--input-type=module', '-e', KERNEL_CHECK], {
        env: { ...process.env, RABBIT_BENCH_CPU_KERNELS: set },
      });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { kernels: string; worst: Record<string, number> };
      expect(out.kernels).toBe(set);
      for (const [type, err] of Object.entries(out.worst)) expect(err, `${set} ${type}`).toBeLessThan(2e-6);
    });
  }
});

function cpuHas(set: string): boolean {
  const flags = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  return set === 'avx2' ? /\bavx2\b/.test(flags) && /\bfma\b/.test(flags) : /\bavx512f\b/.test(flags);
}
