// A GGUF file's tokenizer (tokenizer.ggml.*) as a tokenizer.json for the official `tokenizers`
// package, built the way transformers 5 converts one (integrations/gguf/gguf_tokenizer_mapping.py:
// the vocabulary as the file spells it, the file's merges or the ones its scores imply, control
// tokens as special added tokens), so the ids equal transformers' for the same text.
//
// One deliberate difference: transformers' GGUF tokenizer never adds BOS, while llama.cpp adds it
// when tokenizer.ggml.add_bos_token says so, and by default for SentencePiece vocabularies (as
// the original tokenizers of those models do). Here the file's flag and llama.cpp's default win,
// so `--prompt` gives the ids the model was trained to see.
import { byteLevelAlphabet } from '../byte-level.js';
import { GgufMetadata } from './metadata.js';

/** llama.cpp's token types (llama_token_type). */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** Splits that transformers applies per tokenizer.ggml.pre (GGUF_PRE_TOKENIZER_SPLITS). */
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const TEKKEN_SPLIT =
  '[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+' +
  '|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*' +
  '|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const GPT4O_SPLIT =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
  "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
  '|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';

export const PRE_TOKENIZER_SPLITS: Readonly<Record<string, string>> = {
  llama3: LLAMA3_SPLIT,
  'llama-v3': LLAMA3_SPLIT,
  'llama-bpe': LLAMA3_SPLIT,
  falcon3: LLAMA3_SPLIT,
  'falcon-h1': LLAMA3_SPLIT,
  pixtral: LLAMA3_SPLIT,
  'midm-2.0': LLAMA3_SPLIT,
  lfm2: LLAMA3_SPLIT,
  dbrx: LLAMA3_SPLIT,
  'smaug-bpe': LLAMA3_SPLIT,
  tekken: TEKKEN_SPLIT,
  qwen2: QWEN2_SPLIT,
  'deepseek-r1-qwen': QWEN2_SPLIT,
  megrez: QWEN2_SPLIT,
  'gpt-4o': GPT4O_SPLIT,
  llama4: GPT4O_SPLIT,
  'minimax-m2': GPT4O_SPLIT,
};

export interface GgufTokenizer {
  /** tokenizer.json contents. */
  json: Record<string, unknown>;
  bosToken: string;
  eosToken: string;
  chatTemplate: string | undefined;
}

export function ggufTokenizer(meta: GgufMetadata): GgufTokenizer {
  const model = meta.string('tokenizer.ggml.model', true);
  const tokens = meta.strings('tokenizer.ggml.tokens');
  if (model === undefined || tokens === undefined) {
    meta.fail('has no tokenizer (tokenizer.ggml.model/tokens): pass token ids with --prompt-ids instead');
  }
  const types = meta.numbers('tokenizer.ggml.token_type');
  if (types && types.length !== tokens.length) meta.fail(`tokenizer.ggml.token_type has ${types.length} entries for ${tokens.length} tokens`);
  const fileMerges = meta.strings('tokenizer.ggml.merges');
  let vocabTokens: string[];
  let modelJson: Record<string, unknown>;
  let preTokenizer: unknown;
  let decoder: unknown;
  let byteLevel = false;
  if (model === 'llama') {
    vocabTokens = tokens;
    const scores = meta.numbers('tokenizer.ggml.scores');
    if (!fileMerges && (!scores || scores.length !== tokens.length)) meta.fail('tokenizer.ggml.scores must hold one score per token');
    const vocab = indexOf(tokens);
    const merges = fileMerges ? fileMerges.map(splitMerge) : mergesFromScores(tokens, scores!, vocab);
    modelJson = bpe(vocab, merges, { fuse_unk: true, byte_fallback: true, continuing_subword_prefix: null, end_of_word_suffix: null });
    preTokenizer = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false };
    decoder = {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    };
  } else if (model === 'gpt2') {
    byteLevel = true;
    const alphabet = byteLevelAlphabet();
    const spelled = new Set(alphabet);
    vocabTokens = tokens.map((t) => ([...t].every((ch) => spelled.has(ch)) ? t : [...Buffer.from(t, 'utf8')].map((b) => alphabet[b]).join('')));
    if (!fileMerges) meta.fail('a gpt2 (byte-level BPE) tokenizer needs tokenizer.ggml.merges');
    modelJson = bpe(indexOf(vocabTokens), fileMerges.map(splitMerge), { fuse_unk: false, byte_fallback: false, continuing_subword_prefix: '', end_of_word_suffix: '' });
    const split = PRE_TOKENIZER_SPLITS[meta.string('tokenizer.ggml.pre', true) ?? ''];
    preTokenizer = split
      ? {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: split }, behavior: 'Isolated', invert: false },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
          ],
        }
      : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  } else {
    return meta.fail(`tokenizer.ggml.model '${model}' is not supported (supported: llama, gpt2)`);
  }

  const spelledSet = byteLevel ? new Set(byteLevelAlphabet()) : undefined;
  const vocab = indexOf(vocabTokens);
  const added: Record<string, unknown>[] = [];
  vocabTokens.forEach((token, i) => {
    const type = types?.[i];
    const special = type === TOKEN_TYPE.CONTROL && (!spelledSet || [...token].every((ch) => spelledSet.has(ch)));
    if (special || type === TOKEN_TYPE.USER_DEFINED) {
      added.push({ id: vocab.get(token), content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
    }
  });

  const tokenAt = (key: string): string | undefined => {
    const id = meta.integer(key, true);
    if (id === undefined) return undefined;
    if (id >= tokens.length) meta.fail(`${key} ${id} is outside the vocabulary (${tokens.length} tokens)`);
    return vocabTokens[id];
  };
  const bos = tokenAt('tokenizer.ggml.bos_token_id');
  const eos = tokenAt('tokenizer.ggml.eos_token_id');
  const addBos = (meta.boolean('tokenizer.ggml.add_bos_token') ?? model === 'llama') && bos !== undefined;
  const addEos = (meta.boolean('tokenizer.ggml.add_eos_token') ?? false) && eos !== undefined;
  return {
    json: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: preTokenizer,
      post_processor: postProcessor(addBos ? bos : undefined, addEos ? eos : undefined, vocab),
      decoder,
      model: modelJson,
    },
    bosToken: bos ?? '',
    eosToken: eos ?? '',
    chatTemplate: meta.string('tokenizer.chat_template', true),
  };
}

/** Token -> id; a token listed twice keeps its last id, as a Python dict built from the list does. */
function indexOf(tokens: string[]): Map<string, number> {
  const vocab = new Map<string, number>();
  tokens.forEach((t, i) => vocab.set(t, i));
  return vocab;
}

function splitMerge(merge: string): [string, string] {
  const parts = merge.split(' ');
  if (parts.length !== 2) return [parts[0], parts.slice(1).join(' ')];
  return [parts[0], parts[1]];
}

function bpe(vocab: Map<string, number>, merges: [string, string][], options: Record<string, unknown>): Record<string, unknown> {
  return { type: 'BPE', dropout: null, unk_token: null, ignore_merges: false, ...options, vocab: Object.fromEntries(vocab), merges };
}

/**
 * The merges a SentencePiece vocabulary implies, as transformers' generate_merges recovers them
 * with the scores: every split of a token into two tokens, best score first (then longer left,
 * longer right pieces), ties kept in vocabulary order.
 */
export function mergesFromScores(tokens: string[], scores: number[], vocab: Map<string, number>): [string, string][] {
  const scoreOf = new Map<string, number>();
  tokens.forEach((t, i) => scoreOf.set(t, scores[i]));
  const found: { l: string; r: string; score: number; ll: number; rl: number }[] = [];
  for (const [merge, score] of scoreOf) {
    const chars = [...merge];
    const local: { l: string; r: string; score: number; ll: number; rl: number }[] = [];
    for (let i = 1; i < chars.length; i++) {
      const l = chars.slice(0, i).join('');
      const r = chars.slice(i).join('');
      if (vocab.has(l) && vocab.has(r)) local.push({ l, r, score, ll: i, rl: chars.length - i });
    }
    local.sort((a, b) => vocab.get(a.l)! - vocab.get(b.l)! || vocab.get(a.r)! - vocab.get(b.r)!);
    found.push(...local);
  }
  // Python's sorted(reverse=True) keeps equal keys in their original order; so does a stable
  // sort on the negated comparison.
  found.sort((a, b) => b.score - a.score || b.ll - a.ll || b.rl - a.rl);
  return found.map((m) => [m.l, m.r]);
}

function postProcessor(bos: string | undefined, eos: string | undefined, vocab: Map<string, number>): Record<string, unknown> {
  const special = (token: string, typeId: number) => ({ SpecialToken: { id: token, type_id: typeId } });
  const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const around = (id: 'A' | 'B', typeId: number) => [
    ...(bos !== undefined ? [special(bos, typeId)] : []),
    seq(id, typeId),
    ...(eos !== undefined ? [special(eos, typeId)] : []),
  ];
  const specials: Record<string, unknown> = {};
  for (const t of [bos, eos]) if (t !== undefined) specials[t] = { id: t, ids: [vocab.get(t)], tokens: [t] };
  return { type: 'TemplateProcessing', single: around('A', 0), pair: [...around('A', 0), ...around('B', 1)], special_tokens: specials };
}
