// A prompt of exactly N tokens: real text through the model's tokenizer when it has one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { LONG_PROMPT } from '../reference/default-prompts.js';
import { ModelTokenizer } from '../tokenizer.js';

export async function promptOfLength(modelDir: string, vocabSize: number, n: number): Promise<number[]> {
  if (!Number.isInteger(n) || n < 1) throw new UserError('--prompt-tokens must be a whole number >= 1');
  if (existsSync(join(modelDir, 'tokenizer.json'))) {
    const tokenizer = await ModelTokenizer.load(modelDir);
    const ids = await tokenizer.encode(LONG_PROMPT);
    const body = await tokenizer.encode(` ${LONG_PROMPT}`, false);
    while (ids.length < n) ids.push(...body);
    return ids.slice(0, n);
  }
  return Array.from({ length: n }, (_, i) => (i * 7919 + 3) % vocabSize);
}
