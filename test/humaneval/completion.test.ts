import { describe, expect, it } from 'vitest';
import { completionText, cutCompletion, encodePrompt, isComplete } from '../../bench/humaneval/completion.js';
import { ModelTokenizer } from '../../bench/tokenizer.js';
import { HAS_STORIES, STORIES_DIR, STORIES_SUITE } from '../helpers/paths.js';

describe('completion post-processing', () => {
  it('base: cuts at the first stop sequence', () => {
    const text = '    return sorted(x)\n\n\ndef helper():\n    pass\n';
    expect(isComplete(text, 'base')).toBe(true);
    expect(completionText(text, 'base')).toBe('    return sorted(x)\n\n');
    for (const stop of ['\nclass A:', '\nif __name__ == "__main__":', '\nprint(f(1))', '\n# test', '```']) {
      expect(completionText(`    return 1\n${stop}`, 'base')).toBe('    return 1\n');
    }
    // Indented definitions and comments belong to the body.
    const body = '    def inner():\n        # note\n        return 1\n    return inner()\n';
    expect(isComplete(body, 'base')).toBe(false);
    expect(completionText(body, 'base')).toBe(body);
  });

  it('chat: takes the first fenced block, complete once it is closed', () => {
    const reply = 'Sure!\n```python\ndef f(x):\n    return x\n```\nThis returns x.';
    expect(isComplete(reply, 'chat')).toBe(true);
    expect(completionText(reply, 'chat')).toBe('\ndef f(x):\n    return x\n');
    expect(isComplete('```python\ndef f(x):\n', 'chat')).toBe(false);
    expect(completionText('```python\ndef f(x):\n', 'chat')).toBe('\ndef f(x):\n');
    expect(completionText('def f(x):\n    return x\n', 'chat')).toBe('def f(x):\n    return x\n');
  });
});

describe.skipIf(!HAS_STORIES)(`completion tokens (${STORIES_SUITE})`, () => {
  it('keeps the tokens up to the one that completes the stop, with the indentation the prompt implies', async () => {
    const tokenizer = await ModelTokenizer.load({ format: 'safetensors', dir: STORIES_DIR });
    const prompt = 'def f(x):\n    """Return x."""\n';
    const promptIds = await encodePrompt(tokenizer, prompt, 'base');
    const all = await tokenizer.encode(`${prompt}    return x\n\ndef g():\n    pass\n`);
    expect(all.slice(0, promptIds.length)).toEqual(promptIds);
    const tokens = all.slice(promptIds.length);
    const cut = await cutCompletion(tokenizer, promptIds, tokens, 'base');
    expect(cut.stopped).toBe(true);
    expect(cut.text).toBe('    return x\n');
    expect(cut.tokens.length).toBeLessThan(tokens.length);
    const shorter = await tokenizer.decode([...promptIds, ...cut.tokens.slice(0, -1)]);
    expect(shorter.includes('\ndef')).toBe(false); // the last kept token is the one that completed "\ndef"
    const none = await cutCompletion(tokenizer, promptIds, tokens.slice(0, 3), 'base');
    expect(none).toMatchObject({ stopped: false, tokens: tokens.slice(0, 3) });
  });
});
