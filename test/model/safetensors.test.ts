import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readSafetensorsHeader } from '../../bench/model/safetensors.js';
import { encodeSafetensors } from '../../bench/synth/safetensors.js';
import { tensor, useTempDirs } from './fixtures.js';

const tempDir = useTempDirs();

function write(bytes: Buffer | Uint8Array): string {
  const file = path.join(tempDir(), 'model.safetensors');
  fs.writeFileSync(file, bytes);
  return file;
}

/** A valid file with one F32 tensor 'w' (shape [2] = 8 data bytes unless given) and `from` swapped for `to` in its header. */
function patched(from: string, to: string, shape = [2]): string {
  expect(to.length).toBe(from.length);
  const bytes = encodeSafetensors([tensor('w', shape)]);
  const at = bytes.indexOf(from);
  expect(at).toBeGreaterThan(8);
  bytes.write(to, at, 'latin1');
  return write(bytes);
}

function lengthPrefix(headerLen: bigint, rest: Buffer = Buffer.alloc(0)): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLen);
  return Buffer.concat([prefix, rest]);
}

describe('readSafetensorsHeader', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('returns absolute offsets, sizes, dtypes, shapes and metadata', () => {
    const a = tensor('a', [2, 3], 'BF16');
    const b = tensor('b', [4], 'F32');
    const bytes = encodeSafetensors([a, b], { format: 'pt' });
    const file = write(bytes);
    const header = readSafetensorsHeader(file);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    expect(header.fileBytes).toBe(bytes.length);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect([...header.tensors.keys()]).toEqual(['a', 'b']);
    expect(header.tensors.get('a')).toEqual({ file, offset: 8 + headerLen, bytes: 12, dtype: 'BF16', shape: [2, 3] });
    expect(header.tensors.get('b')).toEqual({ file, offset: 8 + headerLen + 12, bytes: 16, dtype: 'F32', shape: [4] });
    const ref = header.tensors.get('b')!;
    expect(bytes.subarray(ref.offset, ref.offset + ref.bytes)).toEqual(Buffer.from(b.data));
  });

  it('accepts zero-sized tensors and returns no metadata when there is none', () => {
    const header = readSafetensorsHeader(write(encodeSafetensors([tensor('empty', [0, 4])])));
    expect(header.metadata).toBeUndefined();
    expect(header.tensors.get('empty')).toMatchObject({ bytes: 0, shape: [0, 4] });
  });

  it('reads only the length prefix and the header, never the tensor data', () => {
    const file = write(encodeSafetensors([tensor('big', [1024, 256])]));
    const spy = vi.spyOn(fs, 'readSync');
    readSafetensorsHeader(file);
    const requested = spy.mock.calls.reduce((sum, call) => sum + ((call as unknown[])[3] as number), 0);
    expect(requested).toBeGreaterThan(8);
    expect(requested).toBeLessThan(200);
  });

  it('names a missing file', () => {
    const file = path.join(tempDir(), 'nope.safetensors');
    expect(() => readSafetensorsHeader(file)).toThrow(new RegExp(`${file}: no such file`));
  });

  it('rejects a file shorter than the length prefix', () => {
    expect(() => readSafetensorsHeader(write(Buffer.from([1, 2, 3, 4, 5])))).toThrow(
      /model\.safetensors: file is 5 bytes, shorter than the 8-byte header length prefix/,
    );
  });

  it('rejects a zero header length', () => {
    expect(() => readSafetensorsHeader(write(lengthPrefix(0n, Buffer.from('{}'))))).toThrow(/header length is 0/);
  });

  it('rejects a header length beyond the file size', () => {
    expect(() => readSafetensorsHeader(write(lengthPrefix(1000n, Buffer.from('{"a":1}'))))).toThrow(
      /its header length exceeds the file size \(15 bytes\) — truncated or not a safetensors file/,
    );
  });

  it('rejects random bytes that decode to a huge header length without allocating it', () => {
    const random = Buffer.alloc(64, 0xab);
    random.writeBigUInt64LE(2n ** 60n);
    const alloc = vi.spyOn(Buffer, 'alloc');
    expect(() => readSafetensorsHeader(write(random))).toThrow(
      /its header length exceeds the file size \(64 bytes\) — truncated or not a safetensors file/,
    );
    expect(Math.max(...alloc.mock.calls.map((call) => call[0]))).toBe(8);
  });

  it('rejects a header that is not a JSON object, not UTF-8, or not JSON, without quoting it', () => {
    expect(() => readSafetensorsHeader(write(lengthPrefix(5n, Buffer.from('[1,2]'))))).toThrow(
      /header does not start with '\{' — not a safetensors file/,
    );
    expect(() => readSafetensorsHeader(write(lengthPrefix(2n, Buffer.from([0x7b, 0xff]))))).toThrow(
      /header is not valid UTF-8/,
    );
    expect(() => readSafetensorsHeader(write(lengthPrefix(9n, Buffer.from('{not json'))))).toThrow(
      /model\.safetensors: header is not valid JSON \(at character 1\) — not a safetensors file$/,
    );
    expect(() => readSafetensorsHeader(write(lengthPrefix(16n, Buffer.from('{root:*:20000:0:'))))).toThrow(/^(?!.*root).*not valid JSON/);
  });

  it('names the tensor and dtype of an unsupported dtype', () => {
    expect(() => readSafetensorsHeader(patched('"F32"', '"I64"'))).toThrow(
      /model\.safetensors: tensor 'w': dtype "I64" is not supported \(supported: F32, F16, BF16\)/,
    );
  });

  it('rejects malformed shapes and data_offsets', () => {
    expect(() => readSafetensorsHeader(patched('"shape":[2]', '"shape":"2"'))).toThrow(
      /tensor 'w': shape must be a list of non-negative integers, found "2"/,
    );
    expect(() => readSafetensorsHeader(patched('"shape":[12]', '"shape":[-1]', [12]))).toThrow(
      /shape must be a list of non-negative integers, found \[-1\]/,
    );
    expect(() => readSafetensorsHeader(patched('[0,8]', '[8,0]'))).toThrow(
      /tensor 'w': data_offsets must be \[begin, end\] with 0 <= begin <= end, found \[8,0\]/,
    );
  });

  it('reports a truncated data section with the byte counts', () => {
    const bytes = encodeSafetensors([tensor('w', [2])]);
    const file = write(bytes.subarray(0, bytes.length - 4));
    expect(() => readSafetensorsHeader(file)).toThrow(
      new RegExp(`tensor 'w': data ends at byte 8 of the data section, but the file holds only 4 data bytes \\(${bytes.length - 4} bytes in all\\) — the file is truncated`),
    );
  });

  it('rejects a byte span that does not match shape and dtype', () => {
    expect(() => readSafetensorsHeader(patched('"shape":[2]', '"shape":[1]'))).toThrow(
      /tensor 'w': data_offsets span 8 bytes, but shape \[1\] of F32 needs 4/,
    );
  });

  it('rejects metadata that is not a map of strings', () => {
    const bytes = encodeSafetensors([tensor('w', [2])], { n: 'x' });
    const at = bytes.indexOf('"x"');
    bytes.write('123', at, 'latin1');
    expect(() => readSafetensorsHeader(write(bytes))).toThrow(/__metadata__ must map names to strings, found \{"n":123\}/);
  });
});
