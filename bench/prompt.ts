// Turns --prompt / --prompt-ids / --chat into token ids.
import { UserError } from './errors.js';
import type { ModelSource } from './model/resolve.js';
import { ModelTokenizer } from './tokenizer.js';

export interface PromptInput {
  prompt?: string;
  promptIds?: string;
  chat?: boolean;
  system?: string;
}

export function parseIdList(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const ids = parts.map(Number);
  if (parts.length === 0 || ids.some((x, i) => parts[i] === '' || !Number.isInteger(x) || x < 0)) {
    throw new UserError(`--prompt-ids must be a comma-separated list of non-negative integers, got "${text}"`);
  }
  return ids;
}

export async function promptToIds(input: PromptInput, source: ModelSource): Promise<number[]> {
  if ((input.prompt === undefined) === (input.promptIds === undefined)) {
    throw new UserError('give exactly one of --prompt or --prompt-ids');
  }
  if (input.promptIds !== undefined) {
    if (input.chat) throw new UserError('--chat needs --prompt text, not --prompt-ids');
    return parseIdList(input.promptIds);
  }
  const tokenizer = await ModelTokenizer.load(source);
  if (input.chat) {
    const messages = input.system ? [{ role: 'system' as const, content: input.system }] : [];
    return tokenizer.encodeChat([...messages, { role: 'user', content: input.prompt! }]);
  }
  return tokenizer.encode(input.prompt!);
}
