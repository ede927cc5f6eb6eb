// From generated tokens to the completion that is scored. scripts/hf_humaneval.py applies the
// same rules, so the engine's and transformers' completions can be compared token for token.
//
// 1. The completion text is what the tokens add to the prompt: decode(prompt + tokens) minus
//    decode(prompt). Decoding the tokens alone would lose the leading space SentencePiece
//    tokenizers strip from a first token, and with it the indentation of the function body.
// 2. Base prompts: the completion ends where the first stop sequence begins (a new top-level
//    statement or a code fence), as in human-eval and EvalPlus. The tokens are cut after the
//    first token whose text completes a stop sequence.
// 3. --chat: the reply's first fenced code block (the text after the opening fence line up to
//    the closing fence; all of it when there is no fence) is appended to the prompt as a whole
//    new definition: the prompt supplies imports and helpers, and the later definition wins.
//    The tokens are cut once the closing fence appears.
import type { ModelTokenizer } from '../tokenizer.js';

export const STOP_SEQUENCES = ['\ndef', '\nclass', '\nif __name__', '\nprint(', '\n#', '```'] as const;
const FENCE = '```';

export type PromptStyle = 'base' | 'chat';

/** True once the text holds everything the completion needs, so generation may stop. */
export function isComplete(text: string, style: PromptStyle): boolean {
  if (style === 'chat') return text.split(FENCE).length > 2;
  return STOP_SEQUENCES.some((s) => text.includes(s));
}

/** The part of the generated text that is scored. */
export function completionText(text: string, style: PromptStyle): string {
  if (style === 'chat') {
    const open = text.indexOf(FENCE);
    if (open < 0) return text;
    const lineEnd = text.indexOf('\n', open);
    const body = lineEnd < 0 ? '' : text.slice(lineEnd + 1);
    const close = body.indexOf(FENCE);
    return `\n${close < 0 ? body : body.slice(0, close)}`;
  }
  const cuts = STOP_SEQUENCES.map((s) => text.indexOf(s)).filter((i) => i >= 0);
  return cuts.length > 0 ? text.slice(0, Math.min(...cuts)) : text;
}

export interface Completion {
  /** Tokens up to and including the one that completed a stop sequence. */
  tokens: number[];
  text: string;
  stopped: boolean;
}

/** What `tokens` add to the text of `promptIds` (rule 1). */
async function continuationText(tokenizer: ModelTokenizer, promptIds: number[], tokens: number[], promptText?: string): Promise<string> {
  const prompt = promptText ?? (await tokenizer.decode(promptIds));
  const all = await tokenizer.decode([...promptIds, ...tokens]);
  return all.startsWith(prompt) ? all.slice(prompt.length) : tokenizer.decode(tokens);
}

export async function cutCompletion(tokenizer: ModelTokenizer, promptIds: number[], tokens: number[], style: PromptStyle): Promise<Completion> {
  const promptText = await tokenizer.decode(promptIds);
  const full = await continuationText(tokenizer, promptIds, tokens, promptText);
  if (!isComplete(full, style)) return { tokens, text: completionText(full, style), stopped: false };
  // The first prefix that is complete, exactly as the HF script checks after every token.
  for (let k = 1; k < tokens.length; k++) {
    const text = await continuationText(tokenizer, promptIds, tokens.slice(0, k), promptText);
    if (isComplete(text, style)) return { tokens: tokens.slice(0, k), text: completionText(text, style), stopped: true };
  }
  return { tokens, text: completionText(full, style), stopped: true };
}

const CHAT_INSTRUCTION = 'Complete the following Python function. Reply with the whole function in a single ```python code block.';

/** Base prompts are tokenized as transformers' tokenizer(prompt) does; --chat wraps them in the chat template. */
export async function encodePrompt(tokenizer: ModelTokenizer, prompt: string, style: PromptStyle): Promise<number[]> {
  if (style === 'base') return tokenizer.encode(prompt);
  return tokenizer.encodeChat([{ role: 'user', content: `${CHAT_INSTRUCTION}\n\n${FENCE}python\n${prompt.trim()}\n${FENCE}` }]);
}
