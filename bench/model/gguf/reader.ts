// Reads the header of a GGUF file (metadata and tensor infos) with every count, length and
// offset checked against the file's size before anything is allocated; tensor data is never read.
// (@huggingface/gguf 0.4.6 was tried first: it parses a truncated file into empty-named tensors
// without an error, so this reader is our own.)
import fs from 'node:fs';
import { withModelFile } from '../model-file.js';
import { DEFAULT_ALIGNMENT, GGML_TYPES, GGUF_MAGIC, GgufValueType, VALUE_BYTES, type GgmlType } from './format.js';

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue = GgufScalar | GgufValue[];

export interface GgufEntry {
  type: GgufValueType;
  /** For arrays, the type of their elements. */
  elementType?: GgufValueType;
  value: GgufValue;
}

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: number[];
  type: number;
  ggmlType: GgmlType;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  bytes: number;
}

export interface GgufHeader {
  file: string;
  version: number;
  metadata: Map<string, GgufEntry>;
  tensors: GgufTensorInfo[];
  alignment: number;
  dataOffset: number;
  fileBytes: number;
}

/** Arrays of arrays nest no deeper than this in any file llama.cpp writes. */
const MAX_ARRAY_DEPTH = 3;
const MAX_DIMS = 4;
const WINDOW = 1 << 20;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function isGgufFile(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    if (!fs.fstatSync(fd).isFile()) return false;
    const magic = Buffer.alloc(4);
    return fs.readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === GGUF_MAGIC;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function readGgufHeader(file: string): GgufHeader {
  return withModelFile(file, (fd, size, fail, abs) => parse(new Cursor(fd, size, fail), abs, size, fail));
}

function parse(c: Cursor, file: string, fileBytes: number, fail: (m: string) => never): GgufHeader {
  if (fileBytes < 24) fail(`file is ${fileBytes} bytes, shorter than a GGUF header (24 bytes)`);
  c.where = 'the file header';
  if (c.bytes(4).toString('latin1') !== GGUF_MAGIC) fail(`not a GGUF file (it does not start with "${GGUF_MAGIC}")`);
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    fail(`GGUF version ${version} is not supported (versions 2 and 3 are; version 1 files predate 2023 and need converting)`);
  }
  const tensorCount = c.count(24, 'tensor count');
  const kvCount = c.count(13, 'metadata entry count');

  const metadata = new Map<string, GgufEntry>();
  for (let i = 0; i < kvCount; i++) {
    c.where = `metadata entry ${i + 1} of ${kvCount}`;
    const key = c.string('key');
    c.where = `metadata '${key}'`;
    if (metadata.has(key)) fail(`metadata key '${key}' appears twice`);
    metadata.set(key, readEntry(c, c.u32(), 0, fail));
  }

  const alignmentEntry = metadata.get('general.alignment');
  let alignment = DEFAULT_ALIGNMENT;
  if (alignmentEntry) {
    const a = alignmentEntry.value;
    if (alignmentEntry.type !== GgufValueType.UINT32 || typeof a !== 'number' || a <= 0 || (a & (a - 1)) !== 0) {
      fail(`general.alignment must be a power of two (uint32), found ${String(a)}`);
    }
    alignment = a as number;
  }

  const infos: Omit<GgufTensorInfo, 'offset'>[] = [];
  const relative: number[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    c.where = `tensor info ${i + 1} of ${tensorCount}`;
    const name = c.string('tensor name');
    c.where = `tensor '${name}'`;
    if (names.has(name)) fail(`tensor '${name}' appears twice`);
    names.add(name);
    const nDims = c.u32();
    if (nDims < 1 || nDims > MAX_DIMS) fail(`tensor '${name}' has ${nDims} dimensions (1 to ${MAX_DIMS} are allowed)`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.u64Number(`dimension ${d} of tensor '${name}'`));
    const type = c.u32();
    const ggmlType = GGML_TYPES.get(type);
    if (!ggmlType) fail(`tensor '${name}' has unknown ggml type ${type}: the file is damaged or newer than this reader`);
    const elements = dims.reduce((a, b) => a * b, 1);
    if (dims.some((d) => d < 1) || !Number.isSafeInteger(elements)) {
      fail(`tensor '${name}' has impossible dimensions [${dims.join(', ')}]`);
    }
    if (dims[0] % ggmlType!.blockElems !== 0) {
      fail(`tensor '${name}': rows of ${dims[0]} values are not whole ${ggmlType!.name} blocks of ${ggmlType!.blockElems}`);
    }
    const offset = c.u64Number(`data offset of tensor '${name}'`);
    if (offset % alignment !== 0) fail(`tensor '${name}': data offset ${offset} is not a multiple of the alignment ${alignment}`);
    infos.push({ name, dims, type, ggmlType: ggmlType!, bytes: (elements / ggmlType!.blockElems) * ggmlType!.blockBytes });
    relative.push(offset);
  }

  const dataOffset = Math.ceil(c.position / alignment) * alignment;
  const tensors = infos.map((t, i) => ({ ...t, offset: dataOffset + relative[i] }));
  for (const t of tensors) {
    if (t.offset + t.bytes > fileBytes) {
      fail(`tensor '${t.name}': data ends at byte ${t.offset + t.bytes}, past the end of the file (${fileBytes} bytes): truncated?`);
    }
  }
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1];
    if (byOffset[i].offset < prev.offset + prev.bytes) {
      fail(`tensors '${prev.name}' and '${byOffset[i].name}' overlap in the file`);
    }
  }
  return { file, version, metadata, tensors, alignment, dataOffset, fileBytes };
}

function readEntry(c: Cursor, type: number, depth: number, fail: (m: string) => never): GgufEntry {
  if (type === GgufValueType.ARRAY) {
    if (depth >= MAX_ARRAY_DEPTH) fail(`${c.where}: arrays nested more than ${MAX_ARRAY_DEPTH} deep`);
    const elementType = c.u32();
    const minBytes = elementType === GgufValueType.STRING ? 8 : elementType === GgufValueType.ARRAY ? 12 : VALUE_BYTES[elementType as GgufValueType];
    if (minBytes === undefined) fail(`${c.where}: array of unknown value type ${elementType}`);
    const n = c.count(minBytes!, 'array length');
    const value: GgufValue[] = new Array(n);
    for (let i = 0; i < n; i++) value[i] = readEntry(c, elementType, depth + 1, fail).value;
    return { type, elementType, value };
  }
  return { type, value: readScalar(c, type, fail) };
}

function readScalar(c: Cursor, type: number, fail: (m: string) => never): GgufScalar {
  switch (type) {
    case GgufValueType.UINT8: return c.bytes(1)[0];
    case GgufValueType.INT8: return c.bytes(1).readInt8(0);
    case GgufValueType.UINT16: return c.bytes(2).readUInt16LE(0);
    case GgufValueType.INT16: return c.bytes(2).readInt16LE(0);
    case GgufValueType.UINT32: return c.u32();
    case GgufValueType.INT32: return c.bytes(4).readInt32LE(0);
    case GgufValueType.FLOAT32: return c.bytes(4).readFloatLE(0);
    case GgufValueType.FLOAT64: return c.bytes(8).readDoubleLE(0);
    case GgufValueType.BOOL: {
      const b = c.bytes(1)[0];
      if (b > 1) fail(`${c.where}: boolean byte is ${b}, not 0 or 1`);
      return b === 1;
    }
    case GgufValueType.UINT64: return small(c.bytes(8).readBigUInt64LE(0));
    case GgufValueType.INT64: return small(c.bytes(8).readBigInt64LE(0));
    case GgufValueType.STRING: return c.string('string');
    default: return fail(`${c.where}: unknown value type ${type}`);
  }
}

function small(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Sequential reads through a window of the file; every read is checked against the file's end. */
class Cursor {
  position = 0;
  /** What is being read, for error messages. */
  where = '';
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly fail: (m: string) => never,
  ) {}

  get remaining(): number {
    return this.size - this.position;
  }

  bytes(n: number): Buffer {
    if (n > this.remaining) {
      this.fail(`the file ends at byte ${this.size}, inside ${this.where} (${n} more bytes needed at byte ${this.position}): truncated?`);
    }
    const end = this.position + n;
    if (this.position < this.windowStart || end > this.windowStart + this.window.length) {
      this.window = Buffer.alloc(Math.min(Math.max(n, WINDOW), this.remaining));
      this.windowStart = this.position;
      let done = 0;
      while (done < this.window.length) {
        const got = fs.readSync(this.fd, this.window, done, this.window.length - done, this.windowStart + done);
        if (got === 0) this.fail(`the file ended early while reading ${this.where}`);
        done += got;
      }
    }
    const at = this.position - this.windowStart;
    this.position = end;
    return this.window.subarray(at, at + n);
  }

  u32(): number {
    return this.bytes(4).readUInt32LE(0);
  }

  u64Number(what: string): number {
    const v = this.bytes(8).readBigUInt64LE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is ${v}, larger than any file`);
    return Number(v);
  }

  /** A u64 count of items of at least `minBytes` each, which the rest of the file must be able to hold. */
  count(minBytes: number, what: string): number {
    const v = this.bytes(8).readBigUInt64LE(0);
    if (v * BigInt(minBytes) > BigInt(this.remaining)) {
      this.fail(
        `${this.where}: ${what} ${v} needs at least ${v * BigInt(minBytes)} bytes, but only ${this.remaining} remain in the file (truncated, or a corrupt count)`,
      );
    }
    return Number(v);
  }

  string(what: string): string {
    const n = this.count(1, `${what} length`);
    const raw = this.bytes(n);
    try {
      return UTF8.decode(raw);
    } catch {
      return this.fail(`${this.where}: ${what} is not valid UTF-8`);
    }
  }
}
