import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `rabbit-${prefix}-`));
}

export interface StoredTensor {
  dtype: string;
  shape: number[];
  data: Buffer;
}

/** Parses a safetensors file independently of the writer, checking its layout on the way. */
export function readSafetensors(path: string): { metadata: Record<string, string> | undefined; tensors: Map<string, StoredTensor> } {
  const file = readFileSync(path);
  const headerLen = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, StoredTensor>();
  let end = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [from, to] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (from !== end) throw new Error(`${path}: ${name} does not follow the previous tensor`);
    end = to;
    tensors.set(name, { dtype, shape, data: file.subarray(dataStart + from, dataStart + to) });
  }
  if (dataStart + end !== file.length) throw new Error(`${path}: ${file.length - dataStart - end} trailing bytes`);
  return { metadata: header.__metadata__ as Record<string, string> | undefined, tensors };
}

/** float32 values of a stored F32/BF16/F16 tensor. */
export function toFloat32(t: StoredTensor): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (t.dtype === 'F32') out[i] = t.data.readFloatLE(4 * i);
    else if (t.dtype === 'BF16') out[i] = bf16ToF32(t.data.readUInt16LE(2 * i));
    else out[i] = f16ToF32(t.data.readUInt16LE(2 * i));
  }
  return out;
}

export function bf16ToF32(h: number): number {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(h * 65536);
  return b.readFloatLE(0);
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function f32FromBits(u: number): number {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(u >>> 0);
  return b.readFloatLE(0);
}

export function meanStd(xs: Float32Array): { mean: number; std: number } {
  let s = 0, s2 = 0;
  for (const x of xs) { s += x; s2 += x * x; }
  const mean = s / xs.length;
  return { mean, std: Math.sqrt(s2 / xs.length - mean * mean) };
}
