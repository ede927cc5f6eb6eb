// A prompt of exactly N tokens: real text through the model's tokenizer when it has one.
import { UserError } from '../errors.js';
import type { ModelSource } from '../model/resolve.js';
import { LONG_PROMPT } from '../reference/default-prompts.js';
import { ModelTokenizer } from '../tokenizer.js';

/** A measured workload's prompt: --prompt through the model's tokenizer, else --prompt-tokens of text. */
export async function workloadPrompt(source: ModelSource, vocabSize: number, o: { prompt?: string; promptTokens: number }): Promise<number[]> {
  return o.prompt !== undefined ? (await ModelTokenizer.load(source)).encode(o.prompt) : promptOfLength(source, vocabSize, o.promptTokens);
}

export async function promptOfLength(source: ModelSource, vocabSize: number, n: number): Promise<number[]> {
  if (!Number.isInteger(n) || n < 1) throw new UserError('--prompt-tokens must be a whole number >= 1');
  if (ModelTokenizer.exists(source)) {
    const tokenizer = await ModelTokenizer.load(source);
    const ids = await tokenizer.encode(LONG_PROMPT);
    const body = await tokenizer.encode(` ${LONG_PROMPT}`, false);
    // A placeholder vocabulary (test files) may turn the text into nothing at all.
    if (body.length > 0) {
      while (ids.length < n) ids.push(...body);
      return ids.slice(0, n);
    }
  }
  return Array.from({ length: n }, (_, i) => (i * 7919 + 3) % vocabSize);
}
