// Writes GGUF v3 files: metadata, tensor infos, then each tensor's bytes (streamed, aligned), into
// a temporary file that is synced and renamed into place, so no torn file is left under the name.
import fs from 'node:fs';
import path from 'node:path';
import { DTYPE_LAYOUT, storageBytes, type TensorDtype } from '../dtype.js';
import { DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, VALUE_BYTES, ggmlTypeId } from './format.js';

/** One metadata entry; arrays give their elements' type (any scalar type, not nested). */
export interface MetaEntry {
  key: string;
  type: GgufValueType;
  elementType?: GgufValueType;
  value: unknown;
}

export const meta = {
  str: (key: string, value: string): MetaEntry => ({ key, type: GgufValueType.STRING, value }),
  u32: (key: string, value: number): MetaEntry => ({ key, type: GgufValueType.UINT32, value }),
  f32: (key: string, value: number): MetaEntry => ({ key, type: GgufValueType.FLOAT32, value }),
  bool: (key: string, value: boolean): MetaEntry => ({ key, type: GgufValueType.BOOL, value }),
  strings: (key: string, value: string[]): MetaEntry => ({ key, type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value }),
  f32s: (key: string, value: ArrayLike<number>): MetaEntry => ({ key, type: GgufValueType.ARRAY, elementType: GgufValueType.FLOAT32, value }),
  i32s: (key: string, value: ArrayLike<number>): MetaEntry => ({ key, type: GgufValueType.ARRAY, elementType: GgufValueType.INT32, value }),
};

export interface GgufTensorWrite {
  /** GGUF name (blk.N.attn_q.weight, ...). */
  name: string;
  /** Row-major shape (the last dimension is contiguous), as in safetensors. */
  shape: number[];
  dtype: TensorDtype;
  /** Hands the tensor's bytes to `write` in order, in chunks of any size. */
  produce(write: (chunk: Uint8Array) => void): void;
}

class Encoder {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  value(type: GgufValueType, v: unknown): void {
    if (type === GgufValueType.STRING) return this.string(v as string);
    const size = VALUE_BYTES[type];
    if (size === undefined) throw new Error(`cannot write GGUF value type ${type} here`);
    const b = Buffer.alloc(size);
    const n = v as number;
    switch (type) {
      case GgufValueType.UINT8: b.writeUInt8(n); break;
      case GgufValueType.INT8: b.writeInt8(n); break;
      case GgufValueType.UINT16: b.writeUInt16LE(n); break;
      case GgufValueType.INT16: b.writeInt16LE(n); break;
      case GgufValueType.UINT32: b.writeUInt32LE(n); break;
      case GgufValueType.INT32: b.writeInt32LE(n); break;
      case GgufValueType.FLOAT32: b.writeFloatLE(n); break;
      case GgufValueType.FLOAT64: b.writeDoubleLE(n); break;
      case GgufValueType.BOOL: b.writeUInt8(v ? 1 : 0); break;
      case GgufValueType.UINT64: b.writeBigUInt64LE(BigInt(v as number | bigint)); break;
      case GgufValueType.INT64: b.writeBigInt64LE(BigInt(v as number | bigint)); break;
    }
    this.push(b);
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Writes `file`; returns its size. */
export function writeGguf(file: string, metadata: MetaEntry[], tensors: GgufTensorWrite[], alignment = DEFAULT_ALIGNMENT): number {
  const header = new Encoder();
  header.push(Buffer.from(GGUF_MAGIC, 'latin1'));
  header.u32(3);
  header.u64(tensors.length);
  const entries = alignment === DEFAULT_ALIGNMENT ? metadata : [...metadata, meta.u32('general.alignment', alignment)];
  header.u64(entries.length);
  for (const e of entries) {
    header.string(e.key);
    header.u32(e.type);
    if (e.type === GgufValueType.ARRAY) {
      const items = e.value as ArrayLike<unknown>;
      header.u32(e.elementType!);
      header.u64(items.length);
      for (let i = 0; i < items.length; i++) header.value(e.elementType!, items[i]);
    } else header.value(e.type, e.value);
  }
  const pad = (n: number) => (alignment - (n % alignment)) % alignment;
  const sizes = tensors.map((t) => {
    const cols = t.shape[t.shape.length - 1];
    const n = t.shape.reduce((a, b) => a * b, 1);
    const bytes = storageBytes(t.dtype, n);
    if (bytes === undefined || cols % DTYPE_LAYOUT[t.dtype].blockElems !== 0) {
      throw new Error(`tensor ${t.name}: rows of ${cols} values are not whole ${t.dtype} blocks`);
    }
    return bytes;
  });
  let offset = 0;
  tensors.forEach((t, i) => {
    header.string(t.name);
    header.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) header.u64(d);
    header.u32(ggmlTypeId(t.dtype));
    header.u64(offset);
    offset += sizes[i] + pad(sizes[i]);
  });
  header.push(Buffer.alloc(pad(header.length)));

  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    let written = 0;
    const write = (chunk: Uint8Array) => {
      let done = 0;
      while (done < chunk.length) done += fs.writeSync(fd, chunk, done, chunk.length - done);
      written += chunk.length;
    };
    write(header.bytes());
    tensors.forEach((t, i) => {
      const start = written;
      t.produce(write);
      if (written - start !== sizes[i]) throw new Error(`tensor ${t.name}: ${written - start} bytes produced, ${sizes[i]} expected`);
      write(Buffer.alloc(pad(sizes[i])));
    });
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    return written;
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
