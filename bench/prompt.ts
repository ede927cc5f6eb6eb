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

/** Token ids are 32-bit in the engine; a larger number must be refused, not wrapped. */
const MAX_TOKEN_ID = 2 ** 31 - 1;

export function parseIdList(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const ids = parts.map(Number);
  if (parts.length === 0 || ids.some((x, i) => parts[i] === '' || !Number.isInteger(x) || x < 0)) {
    throw new UserError(`--prompt-ids must be a comma-separated list of non-negative integers, got "${text}"`);
  }
  const tooLarge = ids.find((x) => x > MAX_TOKEN_ID);
  if (tooLarge !== undefined) throw new UserError(`--prompt-ids: ${tooLarge} is not a token id (larger than any vocabulary)`, 2);
  return ids;
}

/** Refuses ids outside the model's vocabulary before anything runs, naming the first. */
function checkIdsInVocabulary(ids: readonly number[], vocabSize: number): void {
  const outside = ids.find((x) => x >= vocabSize);
  if (outside !== undefined) throw new UserError(`--prompt-ids: token id ${outside} is outside the vocabulary (size ${vocabSize})`, 2);
}

export async function promptToIds(input: PromptInput, source: ModelSource, vocabSize: number): Promise<number[]> {
  if ((input.prompt === undefined) === (input.promptIds === undefined)) {
    throw new UserError('give exactly one of --prompt or --prompt-ids');
  }
  if (input.promptIds !== undefined) {
    if (input.chat) throw new UserError('--chat needs --prompt text, not --prompt-ids');
    const ids = parseIdList(input.promptIds);
    checkIdsInVocabulary(ids, vocabSize);
    return ids;
  }
  const tokenizer = await ModelTokenizer.load(source);
  if (input.chat) {
    const messages = input.system ? [{ role: 'system' as const, content: input.system }] : [];
    return tokenizer.encodeChat([...messages, { role: 'user', content: input.prompt! }]);
  }
  return tokenizer.encode(input.prompt!);
}
