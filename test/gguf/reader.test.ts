// The GGUF reader on hostile and broken files: every count, length and offset is checked against
// the file before it is used, each failure names what is wrong, and the CLI exits 2 without a
// crash or a stack trace.
import { copyFileSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader } from '../../bench/model/gguf/reader.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { buildGgufFixtures } from '../fixtures/gguf.js';
import { runCli } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp.js';

const temp = tempDirs();

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const u64 = (v: bigint | number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);

interface RawTensor {
  name: string;
  dims: number[];
  type: number;
  offset: number | bigint;
}

/** A GGUF file byte by byte, so each field can be made wrong on its own. */
function rawGguf(o: { version?: number; kv?: Buffer[]; kvCount?: bigint; tensors?: RawTensor[]; tensorCount?: bigint; data?: number }): Buffer {
  const kv = o.kv ?? [Buffer.concat([str('general.architecture'), u32(8), str('llama')])];
  const tensors = o.tensors ?? [];
  const parts = [
    Buffer.from('GGUF'),
    u32(o.version ?? 3),
    u64(o.tensorCount ?? BigInt(tensors.length)),
    u64(o.kvCount ?? BigInt(kv.length)),
    ...kv,
    ...tensors.map((t) => Buffer.concat([str(t.name), u32(t.dims.length), ...t.dims.map((d) => u64(d)), u32(t.type), u64(t.offset)])),
  ];
  const header = Buffer.concat(parts);
  const pad = Buffer.alloc((32 - (header.length % 32)) % 32);
  return Buffer.concat([header, pad, Buffer.alloc(o.data ?? 0)]);
}

function file(bytes: Buffer, name = 'model.gguf'): string {
  const f = join(temp('rb-gguf-'), name);
  writeFileSync(f, bytes);
  return f;
}

const F32 = 0;

describe('GGUF header reader: broken files get a clear error', () => {
  const cases: [string, () => Buffer, RegExp][] = [
    ['not GGUF at all', () => Buffer.from('GGML'.padEnd(64, 'x')), /not a GGUF file/],
    ['version 1', () => rawGguf({ version: 1 }), /GGUF version 1 is not supported/],
    ['a metadata count of 2^60', () => rawGguf({ kvCount: 2n ** 60n }), /metadata entry count 1152921504606846976 needs at least .* bytes, but only \d+ remain/],
    ['a tensor count of 2^60', () => rawGguf({ tensorCount: 2n ** 60n }), /tensor count 1152921504606846976 needs at least/],
    ['a string length past the end', () => rawGguf({ kv: [Buffer.concat([str('general.architecture'), u32(8), u64(1n << 40n), Buffer.from('llama')])] }), /string length 1099511627776 needs at least 1099511627776 bytes/],
    ['an array count past the end', () => rawGguf({ kv: [Buffer.concat([str('tokenizer.ggml.scores'), u32(9), u32(6), u64(1n << 50n)])] }), /array length .* needs at least/],
    ['an unknown value type', () => rawGguf({ kv: [Buffer.concat([str('x'), u32(77), u32(0)])] }), /unknown value type 77/],
    ['a key that is not UTF-8', () => rawGguf({ kv: [Buffer.concat([u64(2), Buffer.from([0xff, 0xfe]), u32(4), u32(0)])] }), /key is not valid UTF-8/],
    ['a duplicate metadata key', () => rawGguf({ kv: [Buffer.concat([str('a'), u32(4), u32(1)]), Buffer.concat([str('a'), u32(4), u32(2)])] }), /metadata key 'a' appears twice/],
    ['an unknown tensor type', () => rawGguf({ tensors: [{ name: 'w', dims: [8], type: 99, offset: 0 }], data: 64 }), /tensor 'w' has unknown ggml type 99/],
    ['tensor data past the end', () => rawGguf({ tensors: [{ name: 'w', dims: [64, 64], type: F32, offset: 0 }], data: 100 }), /tensor 'w': data ends at byte \d+, past the end of the file/],
    ['a misaligned offset', () => rawGguf({ tensors: [{ name: 'w', dims: [8], type: F32, offset: 4 }], data: 64 }), /data offset 4 is not a multiple of the alignment 32/],
    ['an offset of 2^63', () => rawGguf({ tensors: [{ name: 'w', dims: [8], type: F32, offset: 2n ** 63n }], data: 64 }), /data offset of tensor 'w' is 9223372036854775808, larger than any file/],
    ['5 dimensions', () => rawGguf({ tensors: [{ name: 'w', dims: [1, 1, 1, 1, 1], type: F32, offset: 0 }], data: 64 }), /has 5 dimensions/],
    ['a zero dimension', () => rawGguf({ tensors: [{ name: 'w', dims: [0, 4], type: F32, offset: 0 }], data: 64 }), /impossible dimensions \[0, 4\]/],
    ['rows that are not whole blocks', () => rawGguf({ tensors: [{ name: 'w', dims: [48, 2], type: 12, offset: 0 }], data: 512 }), /rows of 48 values are not whole Q4_K blocks of 256/],
    ['a tensor twice', () => rawGguf({ tensors: [{ name: 'w', dims: [8], type: F32, offset: 0 }, { name: 'w', dims: [8], type: F32, offset: 32 }], data: 64 }), /tensor 'w' appears twice/],
    ['overlapping tensors', () => rawGguf({ tensors: [{ name: 'a', dims: [16], type: F32, offset: 0 }, { name: 'b', dims: [8], type: F32, offset: 32 }], data: 128 }), /tensors 'a' and 'b' overlap/],
    ['an alignment that is not a power of two', () => rawGguf({ kv: [Buffer.concat([str('general.alignment'), u32(4), u32(24)])] }), /general.alignment must be a power of two/],
  ];
  for (const [what, make, message] of cases) {
    it(what, () => {
      expect(() => readGgufHeader(file(make()))).toThrow(message);
    });
  }
});

describe('GGUF models the engine cannot run are refused by name', () => {
  let good: string;
  beforeAll(() => {
    good = buildGgufFixtures()['llama-tied-Q4_K_M'];
  });

  function patched(edit: (b: Buffer) => Buffer): string {
    return file(edit(readFileSync(good)));
  }

  it('an unsupported architecture', () => {
    const f = patched((b) => {
      const at = b.indexOf('llama', b.indexOf('general.architecture'));
      return Buffer.concat([b.subarray(0, at), Buffer.from('gemma'), b.subarray(at + 5)]);
    });
    expect(() => buildLoadPlan(f)).toThrow(/architecture 'gemma' is not supported \(supported: llama, qwen2, qwen3, qwen2moe, qwen3moe\)/);
  });

  it('a tensor type the engine does not run (IQ2_XXS) on a tensor it needs', () => {
    const header = readGgufHeader(good);
    const t = header.tensors.find((x) => x.name === 'blk.0.attn_q.weight')!;
    const f = patched((b) => {
      // The type field follows the name, n_dims and dims of the tensor's info.
      const nameAt = b.indexOf(Buffer.concat([str(t.name), u32(2)]));
      const typeAt = nameAt + 8 + t.name.length + 4 + 8 * t.dims.length;
      const out = Buffer.from(b);
      out.writeUInt32LE(16, typeAt);
      return out;
    });
    expect(() => buildLoadPlan(f)).toThrow(/tensor 'blk.0.attn_q.weight' is IQ2_XXS, a type the engine does not run/);
  });

  it('truncated at any point: header, metadata, tensor infos or data', () => {
    const size = readFileSync(good).length;
    const header = readGgufHeader(good);
    for (const at of [10, 100, 5000, header.dataOffset - 10, header.dataOffset + 100, size - 1]) {
      const f = join(temp('rb-gguf-'), 'cut.gguf');
      copyFileSync(good, f);
      truncateSync(f, at);
      expect(() => buildLoadPlan(f), `cut at ${at}`).toThrow(/truncated|file ends|past the end|shorter than/);
    }
  });

  it('the CLI: exit 2, one line, no stack trace, for broken and refused files', async () => {
    const broken = file(rawGguf({ kvCount: 2n ** 60n }));
    for (const f of [broken, join(temp('rb-gguf-'), 'absent.gguf')]) {
      const r = await runCli(['generate', '--model', f, '--prompt-ids', '1,2', '--max-new-tokens', '1']);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^rabbit-bench: error: /m);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('GGUF files and folders as --model', () => {
  let fixture: string;
  beforeAll(() => {
    fixture = buildGgufFixtures()['llama-tied-Q8_0'];
  });

  it('a folder with one GGUF file, a file without the .gguf name (Ollama blobs), a symlink', () => {
    const dir = temp('rb-gguf-');
    copyFileSync(fixture, join(dir, 'model.gguf'));
    expect(buildLoadPlan(dir).source).toMatchObject({ format: 'gguf', file: join(dir, 'model.gguf') });
    copyFileSync(fixture, join(dir, 'sha256-0123abcd'));
    expect(buildLoadPlan(join(dir, 'sha256-0123abcd')).spec.dtype).toBe('Q8_0');
    const link = join(temp('rb-gguf-'), 'link.gguf');
    symlinkSync(fixture, link);
    expect(buildLoadPlan(link).spec.dtype).toBe('Q8_0');
  });

  it('a folder with two GGUF models names both; a non-GGUF file is not mistaken for one', () => {
    const dir = temp('rb-gguf-');
    copyFileSync(fixture, join(dir, 'a.gguf'));
    copyFileSync(fixture, join(dir, 'b.gguf'));
    expect(() => buildLoadPlan(dir)).toThrow(/holds 2 GGUF models \(a\.gguf, b\.gguf\): pass one of them/);
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'hello');
    expect(() => buildLoadPlan(notes)).toThrow(/is a file but not a GGUF file/);
  });

  it('split files: the first part loads every part; a later part or a missing part is a clear error', () => {
    const dir = temp('rb-gguf-');
    const parts = splitGguf(fixture, dir, 'm');
    const whole = buildLoadPlan(fixture);
    const split = buildLoadPlan(parts[0]);
    expect(split.files).toEqual(parts);
    expect(split.spec).toEqual(whole.spec);
    expect(() => buildLoadPlan(parts[1])).toThrow(/is part 2 of a split GGUF model: pass its first part, m-00001-of-00002\.gguf/);
    rmSync(parts[1]);
    expect(() => buildLoadPlan(parts[0])).toThrow(/part 2 of 2 is missing \(looked for .*m-00002-of-00002\.gguf\)/);
  });
});

/** Writes `source` as two split parts the way gguf-split lays them out (each a GGUF of its own). */
function splitGguf(source: string, dir: string, prefix: string): string[] {
  const h = readGgufHeader(source);
  const bytes = readFileSync(source);
  const half = Math.ceil(h.tensors.length / 2);
  const groups = [h.tensors.slice(0, half), h.tensors.slice(half)];
  const metaEnd = bytes.indexOf(str(h.tensors[0].name));
  const kvStart = 24;
  return groups.map((tensors, i) => {
    const splitKv = [
      Buffer.concat([str('split.no'), u32(2), Buffer.from([i, 0])]),
      Buffer.concat([str('split.count'), u32(2), Buffer.from([2, 0])]),
      Buffer.concat([str('split.tensors.count'), u32(5), u32(h.tensors.length)]),
    ];
    const kv = i === 0 ? [bytes.subarray(kvStart, metaEnd), ...splitKv] : splitKv;
    let offset = 0;
    const infos = tensors.map((t) => {
      const raw = { name: t.name, dims: t.dims, type: t.type, offset };
      offset += Math.ceil(t.bytes / 32) * 32;
      return raw;
    });
    const head = rawGguf({ kv, kvCount: BigInt((i === 0 ? h.metadata.size : 0) + 3), tensors: infos });
    const data = tensors.map((t) => {
      const chunk = Buffer.alloc(Math.ceil(t.bytes / 32) * 32);
      bytes.copy(chunk, 0, t.offset, t.offset + t.bytes);
      return chunk;
    });
    const f = join(dir, `${prefix}-0000${i + 1}-of-00002.gguf`);
    writeFileSync(f, Buffer.concat([head, ...data]));
    return f;
  });
}
