import type { TensorDtype } from '../model/types.js';

export const DTYPE_BYTES: Record<TensorDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface TensorBytes {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  data: Uint8Array;
}

/**
 * Header for tensors laid out back to back in the given order, padded with spaces to a
 * multiple of 8 bytes as the reference implementation does.
 */
export function safetensorsHeader(
  tensors: Omit<TensorBytes, 'data'>[],
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = Buffer.alloc(8 + json.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  out.write(json, 8, 'utf8');
  return out;
}

/** A whole safetensors file in memory; fine for small fixtures and tests. */
export function encodeSafetensors(tensors: TensorBytes[], metadata?: Record<string, string>): Buffer {
  for (const t of tensors) {
    const want = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== want) {
      throw new Error(`tensor ${t.name}: ${t.data.byteLength} bytes given, shape needs ${want}`);
    }
  }
  return Buffer.concat([safetensorsHeader(tensors, metadata), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}
