// GGUF tokenizers against transformers' own GGUF tokenizer conversion (goldens from
// scripts/make-gguf-goldens.ts), the BOS rule, and the tokenizer.json -> GGUF conversion against
// llama.cpp's converter.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GgufMetadata } from '../../bench/model/gguf/metadata.js';
import { readGgufHeader } from '../../bench/model/gguf/reader.js';
import { ggufTokenizer, mergesFromScores } from '../../bench/model/gguf/tokenizer.js';
import { meta, writeGguf } from '../../bench/model/gguf/writer.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { folderTokenizerMetadata } from '../../bench/quantize/tokenizer-metadata.js';
import { ModelTokenizer } from '../../bench/tokenizer.js';
import { GGUF_GOLDEN_DIR, buildTokenizerFixtures } from '../fixtures/gguf.js';
import { HAS_SHARED_GGUF, SHARED_GGUF_SUITE, STORIES_DIR, STORIES_GGUF_DIR } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';

interface TokenizerGolden {
  cases: { text: string; ids: number[] }[];
}

const golden = (name: string) => JSON.parse(readFileSync(join(GGUF_GOLDEN_DIR, `tokenizer-${name}.json`), 'utf8')) as TokenizerGolden;
const gguf = (file: string) => ModelTokenizer.load({ format: 'gguf', dir: '', file, parts: [file] });
const temp = tempDirs();

async function expectIds(file: string, name: string) {
  const tokenizer = await gguf(file);
  const g = golden(name);
  expect(g.cases.length).toBeGreaterThan(5);
  for (const c of g.cases) expect(await tokenizer.encode(c.text, false), JSON.stringify(c.text)).toEqual(c.ids);
}

describe('byte-level BPE (gpt2) GGUF tokenizers', () => {
  let files: Record<string, string>;
  beforeAll(() => {
    files = buildTokenizerFixtures();
  });

  for (const pre of ['default', 'qwen2', 'llama-bpe']) {
    it(`tokenizer.ggml.pre '${pre}' splits and merges as transformers does`, async () => {
      await expectIds(files[`tokenizer-${pre}`], pre);
    });
  }

  it('the splits really differ, so each golden tests its own pattern', () => {
    const text = golden('default').cases.findIndex((c) => c.text.includes('2024'));
    const ids = ['default', 'qwen2', 'llama-bpe'].map((p) => JSON.stringify(golden(p).cases[text].ids));
    expect(new Set(ids).size).toBe(3);
  });
});

describe.skipIf(!HAS_SHARED_GGUF)(`SentencePiece (llama) GGUF tokenizer: ${SHARED_GGUF_SUITE}`, () => {
  const file = join(STORIES_GGUF_DIR, 'stories260K-f32.gguf');

  it('gives transformers\' ids for every text, merges recovered from the scores', async () => {
    await expectIds(file, 'stories260K');
  });

  it('adds BOS as llama.cpp does (the file has no add_bos_token: SentencePiece default), and decodes', async () => {
    const tokenizer = await gguf(file);
    const ids = await tokenizer.encode('Once upon a time');
    expect(ids).toEqual([1, 403, 407, 261, 378]);
    expect(await tokenizer.decode(ids)).toBe('Once upon a time');
    const hf = await ModelTokenizer.load({ format: 'safetensors', dir: STORIES_DIR });
    for (const c of golden('stories260K').cases) expect(await tokenizer.encode(c.text)).toEqual(await hf.encode(c.text));
  });

  it('tokenizer.json converts to the vocabulary, scores and token types llama.cpp wrote', () => {
    const theirs = readGgufHeader(file).metadata;
    const ours = new Map(folderTokenizerMetadata(STORIES_DIR, buildLoadPlan(STORIES_DIR).spec).entries.map((e) => [e.key, e.value]));
    for (const key of ['tokenizer.ggml.model', 'tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type',
      'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.unknown_token_id']) {
      expect(JSON.stringify(Array.from(ours.get(key) as Iterable<unknown> ?? [ours.get(key)])), key)
        .toEqual(JSON.stringify(Array.from(theirs.get(key)!.value as Iterable<unknown> ?? [theirs.get(key)!.value])));
    }
  });
});

describe('GGUF tokenizer rules', () => {
  /** A tokenizer-only file with the given extra metadata over a tiny SentencePiece vocabulary. */
  function spmFile(extra: ReturnType<typeof meta.bool>[]): string {
    const file = join(temp('rb-tok-'), 'm.gguf');
    const tokens = ['<unk>', '<s>', '</s>', '▁', 'a', 'b', '▁a', '▁ab'];
    writeGguf(file, [
      meta.str('general.architecture', 'llama'),
      meta.str('tokenizer.ggml.model', 'llama'),
      meta.strings('tokenizer.ggml.tokens', tokens),
      meta.f32s('tokenizer.ggml.scores', [0, 0, 0, -1, -2, -3, -4, -5]),
      meta.i32s('tokenizer.ggml.token_type', [2, 3, 3, 1, 1, 1, 1, 1]),
      meta.u32('tokenizer.ggml.bos_token_id', 1),
      meta.u32('tokenizer.ggml.eos_token_id', 2),
      ...extra,
    ], []);
    return file;
  }

  it('add_bos_token / add_eos_token from the file win over the default', async () => {
    expect(await (await gguf(spmFile([]))).encode('ab')).toEqual([1, 7]);
    expect(await (await gguf(spmFile([meta.bool('tokenizer.ggml.add_bos_token', false)]))).encode('ab')).toEqual([7]);
    expect(await (await gguf(spmFile([meta.bool('tokenizer.ggml.add_eos_token', true)]))).encode('ab')).toEqual([1, 7, 2]);
    expect(await (await gguf(spmFile([]))).encode('ab', false)).toEqual([7]);
  });

  it('merges from scores follow transformers: best score first, ties by longer pieces', () => {
    const tokens = ['a', 'b', 'c', 'ab', 'bc', 'abc'];
    const vocab = new Map(tokens.map((t, i) => [t, i]));
    expect(mergesFromScores(tokens, [0, 0, 0, -1, -1, -2], vocab)).toEqual([['a', 'b'], ['b', 'c'], ['ab', 'c'], ['a', 'bc']]);
  });

  it('a file without a tokenizer, or of an unknown kind, is a clear error', () => {
    const file = join(temp('rb-tok-'), 'none.gguf');
    writeGguf(file, [meta.str('general.architecture', 'llama')], []);
    expect(() => ggufTokenizer(new GgufMetadata(readGgufHeader(file)))).toThrow(/has no tokenizer.*--prompt-ids/);
    const bert = join(temp('rb-tok-'), 'bert.gguf');
    writeGguf(bert, [meta.str('general.architecture', 'llama'), meta.str('tokenizer.ggml.model', 'bert'), meta.strings('tokenizer.ggml.tokens', ['a'])], []);
    expect(() => ggufTokenizer(new GgufMetadata(readGgufHeader(bert)))).toThrow(/tokenizer.ggml.model 'bert' is not supported \(supported: llama, gpt2\)/);
  });
});
