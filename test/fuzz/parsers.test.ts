// Property-based fuzzing of the readers of files users hand us: safetensors headers, GGUF files
// (header, metadata, tensor infos, tokenizer) and config.json. Whatever the bytes, a reader
// either returns something that stays inside the file or throws a UserError with a message;
// never another exception (a TypeError or RangeError is a bug), never a hang. Seeds: valid files
// written here, mutated.
//
// `npm test` runs a fixed number of cases from a fixed seed. RB_FUZZ_MS=N runs each property for
// N ms from a random seed (CI does), printing the seed and the shrunk case of any failure.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../bench/errors.js';
import { parseModelConfig } from '../../bench/model/config.js';
import { readGgufHeader } from '../../bench/model/gguf/reader.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { readSafetensorsHeader } from '../../bench/model/safetensors.js';
import { writeSyntheticGguf } from '../../bench/synth/gguf.js';
import { ModelTokenizer } from '../../bench/tokenizer.js';
import { tinyConfig, tinyTensors, writeModel } from '../model/fixtures.js';

const FUZZ_MS = Number(process.env.RB_FUZZ_MS ?? 0);
const TEST_TIMEOUT = Math.max(60_000, FUZZ_MS * 2 + 30_000);

/**
 * A fixed number of cases from a fixed seed; or, with RB_FUZZ_MS, fresh seeds for that long, in
 * slices that give the event loop back between them (the test runner's heartbeat needs it).
 */
async function fuzz<T>(property: fc.IAsyncPropertyWithHooks<T> | fc.IPropertyWithHooks<T>, quickRuns = 150): Promise<void> {
  if (FUZZ_MS <= 0) {
    await fc.assert(property, { numRuns: quickRuns, seed: 20261202 });
    return;
  }
  for (const deadline = Date.now() + FUZZ_MS; Date.now() < deadline; ) {
    const slice = Math.min(2000, deadline - Date.now());
    await fc.assert(property, { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: slice, markInterruptAsFailure: false, seed: Date.now() ^ (Math.random() * 2 ** 31) });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const work = mkdtempSync(join(tmpdir(), 'rb-fuzz-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs `read`; passes when it returns or throws a UserError; anything else fails the property. */
function survives(read: () => unknown): boolean {
  try {
    read();
    return true;
  } catch (err) {
    if (err instanceof UserError && err.message.length > 0) return true;
    throw err;
  }
}

async function survivesAsync(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (err) {
    if (err instanceof UserError && err.message.length > 0) return true;
    throw err;
  }
}

/** Byte-level damage to a valid file: overwritten bytes, a truncation, an inserted run. */
const damage = (size: number, hot: number) =>
  fc.record({
    writes: fc.array(fc.record({ at: fc.nat(Math.max(0, Math.min(size, hot) - 1)), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 12 }),
    u64: fc.option(fc.record({ at: fc.nat(Math.max(0, Math.min(size, hot) - 8)), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }), { nil: undefined }),
    cut: fc.option(fc.nat(size), { nil: undefined }),
  });

type Damage = { writes: { at: number; byte: number }[]; u64?: { at: number; value: bigint }; cut?: number };

function apply(bytes: Buffer, d: Damage): Buffer {
  const out = Buffer.from(bytes);
  for (const w of d.writes) out[w.at] = w.byte;
  if (d.u64) out.writeBigUInt64LE(d.u64.value, d.u64.at);
  return d.cut === undefined ? out : out.subarray(0, d.cut);
}

/** One file per name, rewritten for every case: an hour of fuzzing must not fill the disk. */
function written(bytes: Buffer, name: string): string {
  const file = join(work, name);
  writeFileSync(file, bytes);
  return file;
}

describe('fuzzing the model readers', () => {
  const stDir = writeModel(join(work, 'st'), tinyConfig(), tinyTensors());
  const st = readFileSync(join(stDir, 'model.safetensors'));
  const stHeaderEnd = 8 + Number(st.readBigUInt64LE(0));

  it('safetensors: damaged files are read or refused with a message, and what is read lies in the file', async () => {
    await fuzz(
      fc.property(damage(st.length, stHeaderEnd + 16), (d) => {
        const file = written(apply(st, d), 'model.safetensors');
        return survives(() => {
          const h = readSafetensorsHeader(file);
          for (const t of h.tensors.values()) expect(t.offset + t.bytes).toBeLessThanOrEqual(h.fileBytes);
        });
      }),
    );
  }, TEST_TIMEOUT);

  it('safetensors: any JSON as the header is read or refused with a message', async () => {
    const entry = fc.record({ dtype: fc.constantFrom('F32', 'BF16', 'F16', 'I8', 'Q4', ''), shape: fc.array(fc.oneof(fc.nat(64), fc.integer(), fc.double()), { maxLength: 4 }),
      data_offsets: fc.array(fc.oneof(fc.nat(4096), fc.integer(), fc.constant(2 ** 60)), { maxLength: 3 }) });
    const header = fc.oneof(fc.dictionary(fc.string({ maxLength: 40 }), fc.oneof(entry, fc.jsonValue())), fc.jsonValue());
    await fuzz(
      fc.property(header, fc.nat(4096), (h, dataBytes) => {
        const json = Buffer.from(JSON.stringify(h) ?? 'null');
        const prefix = Buffer.alloc(8);
        prefix.writeBigUInt64LE(BigInt(json.length));
        const file = written(Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]), 'model.safetensors');
        return survives(() => readSafetensorsHeader(file));
      }),
    );
  }, TEST_TIMEOUT);

  const ggufConfig = { ...tinyConfig({ vocab_size: 512, max_position_embeddings: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1,
    num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: true }), bos_token_id: 1, eos_token_id: 2 };
  const ggufFile = join(work, 'tiny.gguf');
  writeSyntheticGguf(ggufFile, { config: ggufConfig, mix: 'F32', seed: 7, name: 'fuzz' });
  const gguf = readFileSync(ggufFile);
  const ggufHeaderEnd = readGgufHeader(ggufFile).dataOffset;

  it('GGUF: damaged headers are read or refused with a message; plan and tokenizer too', async () => {
    await fuzz(
      fc.asyncProperty(damage(gguf.length, ggufHeaderEnd), async (d) => {
        const file = written(apply(gguf, d), 'model.gguf');
        const header = survives(() => {
          const h = readGgufHeader(file);
          for (const t of h.tensors) expect(t.offset + t.bytes).toBeLessThanOrEqual(h.fileBytes);
        });
        return header && survives(() => buildLoadPlan(file, {})) && (await survivesAsync(() => ModelTokenizer.load({ format: 'gguf', dir: dirname(file), file, parts: [file] })));
      }),
      60,
    );
  }, TEST_TIMEOUT);

  it('config.json: any JSON, and valid configs with damaged fields, are parsed or refused with a message', async () => {
    const valid = tinyConfig();
    const field = fc.constantFrom(...Object.keys(valid), 'rope_scaling', 'rope_parameters', 'head_dim', 'sliding_window', 'use_sliding_window', 'layer_types', 'eos_token_id', 'partial_rotary_factor');
    const value = fc.oneof(fc.jsonValue(), fc.integer(), fc.double(), fc.constant(2 ** 53), fc.constant(-1), fc.constant(0),
      fc.record({ rope_type: fc.constantFrom('llama3', 'linear', 'default', 'yarn', 'dynamic'), factor: fc.double(), original_max_position_embeddings: fc.integer(),
        low_freq_factor: fc.double(), high_freq_factor: fc.double() }));
    await fuzz(
      fc.property(fc.oneof(fc.jsonValue(), fc.dictionary(field, value).map((edits) => ({ ...valid, ...edits }))), fc.option(fc.jsonValue(), { nil: undefined }), (config, generation) =>
        survives(() => parseModelConfig(config, generation, 'config.json'))),
    );
  }, TEST_TIMEOUT);
});
