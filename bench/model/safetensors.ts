import fs from 'node:fs';
import { FLOAT_DTYPE_BYTES, type FloatDtype } from './dtype.js';
import { firstRepeatedKey, isJsonObject, repeatedKeyMessage, show, type JsonObject } from './json.js';
import { withModelFile } from './model-file.js';
import type { TensorRef } from './types.js';

/** The reference implementation refuses larger headers; so do we, before allocating anything. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsHeader {
  tensors: Map<string, TensorRef>;
  metadata: Record<string, string> | undefined;
  fileBytes: number;
}

/** Reads the length prefix and JSON header of a .safetensors file; tensor data is never read. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  return withModelFile(file, (fd, fileBytes, fail, abs) => {
    if (fileBytes < 8) return fail(`file is ${fileBytes} bytes, shorter than the 8-byte header length prefix`);
    const headerLen = readExactly(fd, 0, 8, fail).readBigUInt64LE(0);
    if (headerLen === 0n) return fail('header length is 0 — not a safetensors file');
    // The length is not printed: read from a file that is not a checkpoint, it would be that file's contents.
    if (headerLen > BigInt(fileBytes - 8)) {
      return fail(`its header length exceeds the file size (${fileBytes} bytes) — truncated or not a safetensors file`);
    }
    if (headerLen > BigInt(MAX_HEADER_BYTES)) {
      return fail(`its header length exceeds the ${MAX_HEADER_BYTES}-byte limit of the safetensors format`);
    }
    const header = parseHeaderJson(readExactly(fd, 8, Number(headerLen), fail), fail);
    const dataStart = 8 + Number(headerLen);
    const dataBytes = fileBytes - dataStart;
    const tensors = new Map<string, TensorRef>();
    let metadata: Record<string, string> | undefined;
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') metadata = parseMetadata(entry, fail);
      else tensors.set(name, parseEntry(name, entry, abs, dataStart, dataBytes, fail));
    }
    refuseOverlaps(tensors, fail);
    return { tensors, metadata, fileBytes };
  });
}

/** Two tensors sharing bytes would each read the other's weights: refused as a damaged file. */
function refuseOverlaps(tensors: Map<string, TensorRef>, fail: (m: string) => never): void {
  const byOffset = [...tensors].filter(([, t]) => t.bytes > 0).sort(([, a], [, b]) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const [prevName, prev] = byOffset[i - 1];
    const [name, t] = byOffset[i];
    if (t.offset < prev.offset + prev.bytes) fail(`tensors '${prevName}' and '${name}' share bytes: their data_offsets overlap`);
  }
}

function readExactly(fd: number, position: number, length: number, fail: (m: string) => never): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) return fail(`file ended after ${position + done} bytes while reading the header`);
    done += n;
  }
  return buf;
}

function parseHeaderJson(bytes: Buffer, fail: (m: string) => never): JsonObject {
  // The format's header is a JSON object: anything else is not a safetensors file, said without
  // decoding what it holds.
  if (bytes[0] !== 0x7b) return fail("header does not start with '{' — not a safetensors file");
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('header is not valid UTF-8 — not a safetensors file');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the text around the error: say where, not what.
    const at = /position (\d+)/.exec((err as Error).message);
    return fail(`header is not valid JSON${at ? ` (at character ${at[1]})` : ''} — not a safetensors file`);
  }
  const repeated = firstRepeatedKey(text);
  if (repeated !== undefined) return fail(`header: ${repeatedKeyMessage(repeated)}`);
  // Valid JSON that starts with '{' is an object.
  return value as JsonObject;
}

function parseMetadata(entry: unknown, fail: (m: string) => never): Record<string, string> | undefined {
  if (entry === null) return undefined;
  if (!isJsonObject(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
    return fail(`__metadata__ must map names to strings, found ${show(entry)}`);
  }
  return entry as Record<string, string>;
}

function parseEntry(
  name: string,
  entry: unknown,
  file: string,
  dataStart: number,
  dataBytes: number,
  fail: (m: string) => never,
): TensorRef {
  const bad = (what: string): never => fail(`tensor '${name}': ${what}`);
  if (!isJsonObject(entry)) return bad(`expected {dtype, shape, data_offsets}, found ${show(entry)}`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !Object.hasOwn(FLOAT_DTYPE_BYTES, dtype)) {
    return bad(`dtype ${show(dtype)} is not supported (supported: ${Object.keys(FLOAT_DTYPE_BYTES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInt)) {
    return bad(`shape must be a list of non-negative integers, found ${show(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt) || offsets[0] > offsets[1]) {
    return bad(`data_offsets must be [begin, end] with 0 <= begin <= end, found ${show(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataBytes) {
    return bad(
      `data ends at byte ${end} of the data section, but the file holds only ${dataBytes} data bytes ` +
        `(${dataStart + dataBytes} bytes in all) — the file is truncated`,
    );
  }
  const elementBytes = FLOAT_DTYPE_BYTES[dtype as FloatDtype];
  const want = (shape as number[]).reduce((a, b) => a * b, 1) * elementBytes;
  if (end - begin !== want) {
    return bad(`data_offsets span ${end - begin} bytes, but shape ${show(shape)} of ${dtype} needs ${want}`);
  }
  return { file, offset: dataStart + begin, bytes: want, dtype: dtype as FloatDtype, shape: [...(shape as number[])] };
}

function isNonNegativeInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
