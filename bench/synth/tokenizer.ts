// A small GPT-2 style byte-level BPE tokenizer: any text encodes (every byte has a token), and the
// file is plain tokenizer.json that the Rust `tokenizers` (npm and Python) and transformers'
// AutoTokenizer read identically.

import { byteLevelAlphabet } from '../model/byte-level.js';

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
const SPECIALS = ['<unk>', '<s>', '</s>'];
const FIRST_BYTE_ID = SPECIALS.length;

// A few frequent English pieces so that text takes fewer tokens than bytes and the merge path of
// BPE is exercised. Each part must be a byte or the result of an earlier merge.
const MERGES: [string, string][] = [
  [' ', 't'], ['h', 'e'], [' t', 'he'], [' ', 'a'], ['i', 'n'], ['e', 'r'], ['o', 'n'], [' ', 's'],
  ['r', 'e'], ['a', 't'], ['e', 'n'], [' ', 'w'], ['n', 'd'], ['e', 'd'], [' ', 'o'], ['o', 'u'],
  ['i', 's'], [' ', 'b'], ['in', 'g'], [' a', 'nd'], [' ', 'c'], [' ', 'f'], [' ', 'm'], [' ', 'p'],
  [' ', 'h'], [' ', 'l'], [' ', 'd'], ['l', 'l'], [' o', 'f'], [' t', 'o'], [' ', 'in'], ['o', 'r'],
  ['a', 'r'], ['a', 'n'], ['a', 's'], [' w', 'as'], ['i', 't'], [' ', 'it'], ['o', 'w'], ['e', 's'],
  ['s', 't'], ['l', 'e'], ['c', 'e'], ['l', 'y'],
];

/** Tokens in the tokenizer: specials, 256 bytes, one per merge. */
export const BYTE_LEVEL_VOCAB_SIZE = FIRST_BYTE_ID + 256 + MERGES.length;


/** tokenizer.json and tokenizer_config.json contents; `<s>` is prepended when encoding. */
export function byteLevelTokenizer(modelMaxLength: number): {
  tokenizer: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
} {
  const chars = byteLevelAlphabet();
  // The merge list is written in plain text; BPE sees the stand-in characters.
  const enc = (s: string): string => [...Buffer.from(s, 'utf8')].map((b) => chars[b]).join('');
  const vocab: Record<string, number> = {};
  SPECIALS.forEach((s, i) => (vocab[s] = i));
  chars.forEach((c, b) => (vocab[c] = FIRST_BYTE_ID + b));
  const merges = MERGES.map(([a, b]) => {
    const [ea, eb] = [enc(a), enc(b)];
    if (!(ea in vocab) || !(eb in vocab) || enc(a + b) in vocab) throw new Error(`bad merge ${a}+${b}`);
    vocab[enc(a + b)] = Object.keys(vocab).length;
    return `${ea} ${eb}`;
  });

  const bos = SPECIALS[BOS_ID];
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { [bos]: { id: bos, ids: [BOS_ID], tokens: [bos] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab, merges,
    },
  };
  // PreTrainedTokenizerFast takes tokenizer.json as it is; a named class (LlamaTokenizer, ...)
  // would rebuild parts of it in transformers 5 and could encode differently from npm.
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: bos,
    eos_token: SPECIALS[EOS_ID],
    unk_token: SPECIALS[UNK_ID],
    clean_up_tokenization_spaces: false,
    model_max_length: modelMaxLength,
  };
  return { tokenizer, tokenizerConfig };
}
