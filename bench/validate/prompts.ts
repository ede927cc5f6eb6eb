// The two prompts of the matrix. Short is a smoke test; long is there because an upstream update
// once passed a 20-token smoke test and crashed on the first long prompt. Real text through the
// model's tokenizer when it has one, deterministic ids otherwise (bench/profile/prompt.ts), so
// goldens, live references and the engine all see the same ids.
import type { LoadPlan } from '../model/types.js';
import { promptOfLength } from '../profile/prompt.js';
import type { PromptKind } from './schema.js';

export const SHORT_PROMPT_TOKENS = 8;
export const LONG_PROMPT_TOKENS = 512;

export interface ValidatePrompt {
  name: PromptKind;
  ids: number[];
  /** Set when the model cannot take the full length. */
  note: string | null;
}

export async function validatePrompt(plan: LoadPlan, kind: PromptKind): Promise<ValidatePrompt> {
  const wanted = kind === 'short' ? SHORT_PROMPT_TOKENS : LONG_PROMPT_TOKENS;
  // The engine refuses a prompt longer than max_position_embeddings (decoding past it is
  // allowed, as in transformers), so the long prompt is capped there.
  const n = Math.min(wanted, plan.spec.maxPositions);
  const ids = await promptOfLength(plan.source, plan.spec.vocabSize, n);
  const note = n < wanted ? `${kind} prompt capped at ${n} tokens by max_position_embeddings` : null;
  return { name: kind, ids, note };
}
