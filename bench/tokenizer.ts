// Exact Hugging Face tokenization through the official `tokenizers` bindings, and chat
// templates through @huggingface/jinja (the Jinja subset HF chat templates are written in), in a
// bounded worker (chat-template.ts).
import { existsSync } from 'node:fs';
import { readTextFile } from './json-file.js';
import { join } from 'node:path';
import { Tokenizer } from 'tokenizers';
import { renderChatTemplate } from './chat-template.js';
import { ModelError } from './errors.js';
import { GgufMetadata } from './model/gguf/metadata.js';
import { readGgufHeader } from './model/gguf/reader.js';
import { ggufTokenizer } from './model/gguf/tokenizer.js';
import { readJsonObject } from './model/json.js';
import type { ModelSource } from './model/resolve.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What the chat template is rendered with, besides the messages. */
interface TemplateContext {
  template: unknown;
  bosToken: string;
  eosToken: string;
}

export class ModelTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly context: TemplateContext,
  ) {}

  /** Whether the model comes with a tokenizer (tokenizer.json, or a GGUF file's tokenizer.ggml.*). */
  static exists(source: ModelSource): boolean {
    if (source.format === 'gguf') return readGgufHeader(source.file).metadata.has('tokenizer.ggml.tokens');
    return existsSync(join(source.dir, 'tokenizer.json'));
  }

  static async load(source: ModelSource): Promise<ModelTokenizer> {
    return source.format === 'gguf' ? ModelTokenizer.fromGguf(source.file) : ModelTokenizer.fromFolder(source.dir);
  }

  private static async fromFolder(modelDir: string): Promise<ModelTokenizer> {
    const path = join(modelDir, 'tokenizer.json');
    if (!existsSync(path)) {
      throw new ModelError(`${modelDir} has no tokenizer.json: pass token ids with --prompt-ids instead`);
    }
    const text = readTextFile(path, 'tokenizer file', (m) => new ModelError(m));
    let tokenizer: Tokenizer;
    try {
      tokenizer = Tokenizer.fromString(text);
    } catch (err) {
      throw new ModelError(`cannot load ${path}: ${(err as Error).message}`);
    }
    const configPath = join(modelDir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? readJsonObject(configPath) : {};
    // Newer transformers save the template beside the config as chat_template.jinja.
    const templatePath = join(modelDir, 'chat_template.jinja');
    const template = existsSync(templatePath) ? readTextFile(templatePath, 'chat template', (m) => new ModelError(m)) : namedTemplate(config.chat_template);
    return new ModelTokenizer(tokenizer, { template, bosToken: specialToken(config, 'bos_token'), eosToken: specialToken(config, 'eos_token') });
  }

  private static fromGguf(file: string): ModelTokenizer {
    const built = ggufTokenizer(new GgufMetadata(readGgufHeader(file)));
    let tokenizer: Tokenizer;
    try {
      tokenizer = Tokenizer.fromString(JSON.stringify(built.json));
    } catch (err) {
      throw new ModelError(`${file}: its tokenizer cannot be built (${(err as Error).message})`);
    }
    return new ModelTokenizer(tokenizer, { template: built.chatTemplate, bosToken: built.bosToken, eosToken: built.eosToken });
  }

  /** Ids exactly as transformers' tokenizer(text) gives them (special tokens added by default). */
  async encode(text: string, addSpecialTokens = true): Promise<number[]> {
    const encoding = await this.tokenizer.encode(text, null, { addSpecialTokens });
    return encoding.getIds();
  }

  async decode(ids: number[], skipSpecialTokens = true): Promise<string> {
    return this.tokenizer.decode(ids, skipSpecialTokens);
  }

  get hasChatTemplate(): boolean {
    return typeof this.context.template === 'string';
  }

  /** Renders the chat template with a generation prompt, then tokenizes without adding specials again. */
  async encodeChat(messages: ChatMessage[]): Promise<number[]> {
    const source = this.context.template;
    if (typeof source !== 'string') {
      throw new ModelError('--chat: this model has no chat template (chat_template in tokenizer_config.json, or tokenizer.chat_template in a GGUF)');
    }
    const text = await renderChatTemplate(source, {
      messages,
      add_generation_prompt: true,
      bos_token: this.context.bosToken,
      eos_token: this.context.eosToken,
    });
    return this.encode(text, false);
  }
}

/** Some tokenizer configs hold a list of named templates; "default" is the one transformers uses. */
function namedTemplate(t: unknown): unknown {
  if (Array.isArray(t)) return (t as { name: string; template: string }[]).find((x) => x.name === 'default')?.template;
  return t;
}

function specialToken(config: Record<string, unknown>, key: string): string {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return '';
}
