// Exact Hugging Face tokenization through the official `tokenizers` bindings, and chat
// templates through @huggingface/jinja (the Jinja subset HF chat templates are written in).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from 'tokenizers';
import { ModelError } from './errors.js';
import { readJsonObject } from './model/json.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export class ModelTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly config: Record<string, unknown>,
    private readonly templateFile: string | undefined,
  ) {}

  static async load(modelDir: string): Promise<ModelTokenizer> {
    const path = join(modelDir, 'tokenizer.json');
    if (!existsSync(path)) {
      throw new ModelError(`${modelDir} has no tokenizer.json: pass token ids with --prompt-ids instead`);
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = await Tokenizer.fromFile(path);
    } catch (err) {
      throw new ModelError(`cannot load ${path}: ${(err as Error).message}`);
    }
    const configPath = join(modelDir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? readJsonObject(configPath) : {};
    // Newer transformers save the template beside the config as chat_template.jinja.
    const templatePath = join(modelDir, 'chat_template.jinja');
    const templateFile = existsSync(templatePath) ? readFileSync(templatePath, 'utf8') : undefined;
    return new ModelTokenizer(tokenizer, config, templateFile);
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
    return typeof this.chatTemplate() === 'string';
  }

  /** Renders the chat template with a generation prompt, then tokenizes without adding specials again. */
  async encodeChat(messages: ChatMessage[]): Promise<number[]> {
    const source = this.chatTemplate();
    if (typeof source !== 'string') {
      throw new ModelError('--chat: this model has no chat_template in tokenizer_config.json');
    }
    const text = new Template(source).render({
      messages,
      add_generation_prompt: true,
      bos_token: this.specialToken('bos_token'),
      eos_token: this.specialToken('eos_token'),
    });
    return this.encode(text, false);
  }

  private chatTemplate(): unknown {
    if (this.templateFile !== undefined) return this.templateFile;
    const t = this.config.chat_template;
    // Some tokenizer configs hold a list of named templates; "default" is the one transformers uses.
    if (Array.isArray(t)) return (t as { name: string; template: string }[]).find((x) => x.name === 'default')?.template;
    return t;
  }

  private specialToken(key: string): string {
    const v = this.config[key];
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
      return (v as { content: string }).content;
    }
    return '';
  }
}
