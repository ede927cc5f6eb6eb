import { closeSync, openSync, writeSync } from 'node:fs';
import { FLOAT_DTYPE_BYTES, type FloatDtype } from '../model/dtype.js';


export interface TensorBytes {
  name: string;
  dtype: FloatDtype;
  shape: number[];
  data: Uint8Array;
}

/** A tensor whose bytes are made on demand, so a file never has to be held in memory. */
export interface TensorSource extends Omit<TensorBytes, 'data'> {
  /** Hands the tensor's bytes to `write` in order, in chunks of any size. */
  produce(write: (chunk: Uint8Array) => void): void;
}

export function tensorByteSize(t: Pick<TensorBytes, 'dtype' | 'shape'>): number {
  return t.shape.reduce((a, b) => a * b, 1) * FLOAT_DTYPE_BYTES[t.dtype];
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
    const bytes = tensorByteSize(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  // Lengths are in UTF-8 bytes: a tensor name may hold non-ASCII characters.
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Buffer.alloc(json.length + ((8 - (json.length % 8)) % 8), ' ');
  json.copy(padded);
  const out = Buffer.alloc(8 + padded.length);
  out.writeBigUInt64LE(BigInt(padded.length), 0);
  padded.copy(out, 8);
  return out;
}

/** A whole safetensors file in memory; fine for small fixtures and tests. */
export function encodeSafetensors(tensors: TensorBytes[], metadata?: Record<string, string>): Buffer {
  for (const t of tensors) {
    const want = tensorByteSize(t);
    if (t.data.byteLength !== want) {
      throw new Error(`tensor ${t.name}: ${t.data.byteLength} bytes given, shape needs ${want}`);
    }
  }
  return Buffer.concat([safetensorsHeader(tensors, metadata), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}

/** Streams tensors into a safetensors file at `path`; returns the size of the data section. */
export function writeSafetensors(
  path: string,
  tensors: TensorSource[],
  metadata?: Record<string, string>,
): number {
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, safetensorsHeader(tensors, metadata));
    let total = 0;
    for (const t of tensors) {
      const want = tensorByteSize(t);
      let got = 0;
      t.produce((chunk) => {
        writeAll(fd, chunk);
        got += chunk.byteLength;
      });
      if (got !== want) throw new Error(`tensor ${t.name}: produced ${got} bytes, shape needs ${want}`);
      total += got;
    }
    return total;
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.byteLength; ) {
    done += writeSync(fd, chunk, done, chunk.byteLength - done);
  }
}
