// A Hugging Face tokenizer.json as GGUF tokenizer.ggml.* metadata, the way llama.cpp's converter
// describes the same vocabularies: byte-level BPE as `gpt2` (tokens spelled in the byte alphabet,
// merges, and the pre-tokenizer's name where its split is a known one), SentencePiece-style BPE
// (Metaspace, byte fallback) as `llama` with scores in piece order and the merges too.
import fs from 'node:fs';
import path from 'node:path';
import { ModelError } from '../errors.js';
import { readTextFile } from '../json-file.js';
import { isJsonObject, readJsonObject, type JsonObject } from '../model/json.js';
import { PRE_TOKENIZER_SPLITS, TOKEN_TYPE } from '../model/gguf/tokenizer.js';
import { meta, type MetaEntry } from '../model/gguf/writer.js';
import type { ModelSpec } from '../model/types.js';

export interface TokenizerMetadata {
  entries: MetaEntry[];
  warnings: string[];
}

const BYTE_TOKEN = /^<0x[0-9A-F]{2}>$/;

/** A model folder's tokenizer.json (and chat template) as GGUF metadata. */
export function folderTokenizerMetadata(modelDir: string, spec: ModelSpec): TokenizerMetadata {
  const file = path.join(modelDir, 'tokenizer.json');
  if (!fs.existsSync(file)) return { entries: [], warnings: [`${modelDir} has no tokenizer.json: the GGUF file gets no tokenizer`] };
  return tokenizerMetadata(readJsonObject(file), spec, chatTemplate(modelDir), file);
}

/** tokenizer.json contents as GGUF metadata; `where` names it in warnings. */
export function tokenizerMetadata(json: JsonObject, spec: ModelSpec, template: string | undefined, where = 'tokenizer.json'): TokenizerMetadata {
  const file = where;
  const model = json.model;
  if (!isJsonObject(model) || model.type !== 'BPE' || !isJsonObject(model.vocab)) {
    return { entries: [], warnings: [`${file}: only BPE tokenizers convert (found ${isJsonObject(model) ? String(model.type) : 'none'}); the GGUF file gets no tokenizer`] };
  }
  const warnings: string[] = [];
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as JsonObject[]) : [];
  const byId = new Map<number, string>();
  for (const [token, id] of Object.entries(model.vocab as Record<string, number>)) byId.set(id, token);
  for (const t of added) byId.set(t.id as number, t.content as string);
  const beyond = [...byId.keys()].filter((id) => id >= spec.vocabSize);
  if (beyond.length > 0) warnings.push(`${beyond.length} tokens have ids past vocab_size ${spec.vocabSize} and are left out`);
  const tokens: string[] = [];
  const types: number[] = [];
  const special = new Set(added.filter((t) => t.special === true).map((t) => t.id as number));
  const userDefined = new Set(added.filter((t) => t.special !== true).map((t) => t.id as number));
  const unkId = typeof model.unk_token === 'string' ? (model.vocab as Record<string, number>)[model.unk_token] : undefined;
  for (let id = 0; id < spec.vocabSize; id++) {
    const token = byId.get(id);
    if (token === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TOKEN_TYPE.UNUSED);
      continue;
    }
    tokens.push(token);
    types.push(
      id === unkId || (unkId === undefined && token === '<unk>')
        ? TOKEN_TYPE.UNKNOWN
        : special.has(id)
          ? TOKEN_TYPE.CONTROL
          : userDefined.has(id)
            ? TOKEN_TYPE.USER_DEFINED
            : BYTE_TOKEN.test(token)
              ? TOKEN_TYPE.BYTE
              : TOKEN_TYPE.NORMAL,
    );
  }
  const merges = (Array.isArray(model.merges) ? model.merges : []).map((m) => (Array.isArray(m) ? m.join(' ') : String(m)));
  const byteFallback = model.byte_fallback === true;
  const entries: MetaEntry[] = [];
  if (byteFallback || hasType(json.pre_tokenizer, 'Metaspace')) {
    let rank = 0;
    const scores = types.map((t) => (t === TOKEN_TYPE.NORMAL ? -rank++ : 0));
    entries.push(
      meta.str('tokenizer.ggml.model', 'llama'),
      meta.str('tokenizer.ggml.pre', 'default'),
      meta.strings('tokenizer.ggml.tokens', tokens),
      meta.f32s('tokenizer.ggml.scores', scores),
      meta.i32s('tokenizer.ggml.token_type', types),
      meta.strings('tokenizer.ggml.merges', merges),
      meta.bool('tokenizer.ggml.add_space_prefix', metaspacePrepends(json.pre_tokenizer)),
    );
  } else if (hasType(json.pre_tokenizer, 'ByteLevel')) {
    entries.push(
      meta.str('tokenizer.ggml.model', 'gpt2'),
      meta.str('tokenizer.ggml.pre', preTokenizerName(json.pre_tokenizer, warnings)),
      meta.strings('tokenizer.ggml.tokens', tokens),
      meta.i32s('tokenizer.ggml.token_type', types),
      meta.strings('tokenizer.ggml.merges', merges),
    );
  } else {
    return { entries: [], warnings: [`${file}: neither byte-level nor SentencePiece-style BPE; the GGUF file gets no tokenizer`] };
  }
  const idOf = (token: string | undefined): number | undefined => (token === undefined ? undefined : tokens.indexOf(token));
  if (spec.bosTokenId !== null) entries.push(meta.u32('tokenizer.ggml.bos_token_id', spec.bosTokenId));
  if (spec.eosTokenIds.length > 0) entries.push(meta.u32('tokenizer.ggml.eos_token_id', spec.eosTokenIds[0]));
  const unk = unkId ?? idOf(tokens.includes('<unk>') ? '<unk>' : undefined);
  if (unk !== undefined && unk >= 0) entries.push(meta.u32('tokenizer.ggml.unknown_token_id', unk));
  entries.push(meta.bool('tokenizer.ggml.add_bos_token', postProcessorAdds(json.post_processor, 'first')));
  entries.push(meta.bool('tokenizer.ggml.add_eos_token', postProcessorAdds(json.post_processor, 'last')));
  if (template !== undefined) entries.push(meta.str('tokenizer.chat_template', template));
  return { entries, warnings };
}

function hasType(node: unknown, type: string): boolean {
  if (!isJsonObject(node)) return false;
  if (node.type === type) return true;
  const children = node.pretokenizers ?? node.decoders;
  return Array.isArray(children) && children.some((c) => hasType(c, type));
}

function metaspacePrepends(node: unknown): boolean {
  if (!isJsonObject(node)) return false;
  if (node.type === 'Metaspace') return node.prepend_scheme !== 'never' && node.add_prefix_space !== false;
  return Array.isArray(node.pretokenizers) && node.pretokenizers.some(metaspacePrepends);
}

/** The llama.cpp name of the pre-tokenizer's split, so readers split text the same way. */
function preTokenizerName(node: unknown, warnings: string[]): string {
  const split = findSplit(node);
  if (split === undefined) return 'default';
  const name = Object.entries(PRE_TOKENIZER_SPLITS).find(([, regex]) => regex === split)?.[0];
  if (name) return name;
  warnings.push('the tokenizer splits text with a pattern llama.cpp has no name for: readers of the GGUF split it as GPT-2 does');
  return 'default';
}

function findSplit(node: unknown): string | undefined {
  if (!isJsonObject(node)) return undefined;
  if (node.type === 'Split' && isJsonObject(node.pattern) && typeof node.pattern.Regex === 'string') return node.pattern.Regex;
  if (Array.isArray(node.pretokenizers)) for (const c of node.pretokenizers) if (findSplit(c) !== undefined) return findSplit(c);
  return undefined;
}

/** Whether the post-processor puts a special token first (BOS) or last (EOS) in a single sequence. */
function postProcessorAdds(node: unknown, where: 'first' | 'last'): boolean {
  if (!isJsonObject(node) || node.type !== 'TemplateProcessing' || !Array.isArray(node.single)) return false;
  const single = node.single as JsonObject[];
  const item = where === 'first' ? single[0] : single[single.length - 1];
  return isJsonObject(item) && 'SpecialToken' in item;
}

function chatTemplate(modelDir: string): string | undefined {
  const jinja = path.join(modelDir, 'chat_template.jinja');
  if (fs.existsSync(jinja)) return readTextFile(jinja, 'chat template', (m) => new ModelError(m));
  const config = path.join(modelDir, 'tokenizer_config.json');
  if (!fs.existsSync(config)) return undefined;
  const t = readJsonObject(config).chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t as { name: string; template: string }[]).find((x) => x.name === 'default')?.template;
  return undefined;
}
