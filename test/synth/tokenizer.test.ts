import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from 'tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BOS_ID, BYTE_LEVEL_VOCAB_SIZE } from '../../bench/synth/tokenizer.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { readGolden } from '../fixtures/golden.js';
import { FIXTURES } from '../../bench/synth/fixture-specs.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';

const TEXTS = [
  'Once upon a time, the little rabbit was in the garden.',
  '  leading spaces\n\nnewlines\ttabs ',
  'Ünïcödé 🐇 日本語 — “quotes”',
  "it's don't I'll 1234567 3.14",
  '',
];

let dirs: Record<string, string>;
beforeAll(() => {
  dirs = buildFixtures(TEST_FIXTURES_DIR);
});

const withTokenizer = Object.keys(FIXTURES).filter((n) => FIXTURES[n].tokenizer === 'byte-level');

describe('byte-level tokenizer.json', () => {
  it('is written for every fixture that asks for one, and only those', () => {
    for (const [name, dir] of Object.entries(dirs)) {
      expect(existsSync(join(dir, 'tokenizer.json')), name).toBe(withTokenizer.includes(name));
      expect(existsSync(join(dir, 'tokenizer_config.json')), name).toBe(withTokenizer.includes(name));
    }
    expect(withTokenizer.length).toBeGreaterThanOrEqual(4);
  });

  it('loads with the npm tokenizers package and round-trips text, ids within vocab_size', async () => {
    for (const name of withTokenizer) {
      const tok = Tokenizer.fromFile(join(dirs[name], 'tokenizer.json'));
      expect(tok.getVocabSize(true)).toBe(BYTE_LEVEL_VOCAB_SIZE);
      for (const text of TEXTS) {
        const ids = (await tok.encode(text)).getIds();
        expect(ids[0]).toBe(BOS_ID);
        expect(ids.length).toBeLessThanOrEqual(1 + Buffer.byteLength(text));
        for (const id of ids) expect(id).toBeLessThan(FIXTURES[name].config.vocab_size as number);
        expect(await tok.decode(ids, true)).toBe(text);
      }
    }
  });

  it('encodes with merges: common words take fewer tokens than bytes', async () => {
    const tok = Tokenizer.fromFile(join(dirs[withTokenizer[0]], 'tokenizer.json'));
    const ids = (await tok.encode(' the and was')).getIds();
    expect(ids.map((id) => tok.idToToken(id))).toEqual(['<s>', 'Ġthe', 'Ġand', 'Ġwas']);
  });

  it('gives the same ids as transformers.AutoTokenizer did for the goldens', async () => {
    for (const name of withTokenizer) {
      const tok = Tokenizer.fromFile(join(dirs[name], 'tokenizer.json'));
      const textCases = readGolden(name).cases.filter((c) => c.prompt_text !== null);
      expect(textCases.length, name).toBeGreaterThan(0);
      for (const c of textCases) expect((await tok.encode(c.prompt_text!)).getIds(), name).toEqual(c.prompt_ids);
    }
  });
});

const STORIES = '../shared/models/stories260K';

describe.runIf(existsSync(join(STORIES, 'tokenizer.json')))('stories260K golden', () => {
  it('continues "Once upon a time" the way the real model does', async () => {
    const tok = Tokenizer.fromFile(join(STORIES, 'tokenizer.json'));
    const golden = readGolden('stories260K');
    const [short, long] = golden.cases;
    expect(short.prompt_ids).toEqual((await tok.encode('Once upon a time')).getIds());
    expect(await tok.decode(short.greedy_tokens, true)).toMatch(
      /^, there was a little girl named Lily\. She loved to play outside in the park\./,
    );
    expect(short.greedy_tokens).toHaveLength(48);
    expect(long.prompt_ids.length).toBeGreaterThanOrEqual(150);
    expect(JSON.parse(readFileSync(join(STORIES, 'config.json'), 'utf8')).vocab_size).toBe(short.last_logits.length);
  });
});
