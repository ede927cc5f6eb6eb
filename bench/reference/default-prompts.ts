// Prompts for a live reference when the user gives none: one short and one long (>= 150 tokens
// for any tokenizer), so both the prefill path and long-position RoPE/attention are exercised.
import type { ReferencePrompt } from './live.js';

export const SHORT_PROMPT = 'Once upon a time';

export const LONG_PROMPT =
  'Once upon a time, in a small village at the edge of a great forest, there lived a girl named Mia who ' +
  'loved to collect stones. Every morning she walked along the river, looking for the smoothest and most ' +
  'colourful ones. Her grandmother told her that each stone had a story, and that if she listened carefully ' +
  'she could hear it. One day Mia found a stone that was warm to the touch and glowed faintly blue. She ' +
  'showed it to her friend Tom, who laughed and said it was only the sun. But that night the stone shone so ' +
  'brightly that her whole room turned the colour of the sky. Mia decided to follow the light. It led her ' +
  'out of the house, across the meadow, and deep into the forest, where the trees were so tall that they ' +
  'seemed to touch the stars. There, in a clearing, she met an old owl who could speak. The owl explained ' +
  'that the stone belonged to the moon, and that the moon had been sad ever since she lost it. Mia thought ' +
  'about how she would feel if she lost her favourite stone, and she knew what she had to do.';

export function defaultPrompts(hasTokenizer: boolean, vocabSize: number): ReferencePrompt[] {
  if (hasTokenizer) {
    return [
      { name: 'short', text: SHORT_PROMPT },
      { name: 'long', text: LONG_PROMPT },
    ];
  }
  const ids = (n: number, stride: number) => Array.from({ length: n }, (_, i) => (i * stride + 3) % vocabSize);
  return [
    { name: 'short', ids: ids(8, 7) },
    { name: 'long', ids: ids(160, 13) },
  ];
}
