// Numbers from the command line are checked against their range, each message naming its
// option, before anything narrows them: 2^32 + 16 must not run as token 16.
import { describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../bench/engine/engine.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR, STORIES_SUITE } from '../helpers/paths.js';

async function expectRefused(args: string[], message: RegExp) {
  const r = await runCli(args);
  expect(r.signal).toBeNull();
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe.skipIf(!HAS_STORIES)(`numeric options and ids in range (${STORIES_SUITE})`, () => {
  const gen = (...extra: string[]) => ['generate', '--model', STORIES_DIR, '--prompt-ids', '1,2', ...extra];

  it('a token id past 2^32 is refused, not wrapped; one past the vocabulary names it', async () => {
    await expectRefused(['generate', '--model', STORIES_DIR, '--prompt-ids', '4294967312'], /--prompt-ids: 4294967312 is not a token id/);
    await expectRefused(['generate', '--model', STORIES_DIR, '--prompt-ids', '1,600'], /token id 600 is outside the vocabulary \(size 512\)/);
  });

  it('--threads, --max-new-tokens and --prompt-tokens have ranges', async () => {
    await expectRefused(gen('--threads', '1e9'), /--threads must be a whole number from 0 to 1024, not 1000000000/);
    await expectRefused(gen('--threads', '2147483648'), /--threads must be a whole number from 0 to 1024/);
    await expectRefused(gen('--threads', '-1'), /--threads must be a whole number from 0 to 1024, not -1/);
    await expectRefused(gen('--max-new-tokens', '1e12'), /--max-new-tokens must be a whole number from 0 to 1000000, not 1000000000000/);
    await expectRefused(gen('--max-new-tokens', '2.5'), /--max-new-tokens must be a whole number/);
    await expectRefused(['profile', '--model', STORIES_DIR, '--prompt-tokens', '1e12'], /--prompt-tokens must be a whole number from 1 to 1000000/);
    await expectRefused(['profile', '--model', STORIES_DIR, '--max-new-tokens', '0'], /--max-new-tokens must be a whole number from 1 to 1000000, not 0/);
  });

  it('the engine itself refuses what does not fit 32 bits, whoever calls it', async () => {
    const engine = InferenceEngine.open(buildLoadPlan(STORIES_DIR), {});
    try {
      await expect(engine.generate({ promptIds: [2 ** 32 + 16], maxNewTokens: 1 })).rejects.toThrow(/token id in promptIds must be a whole number from 0 to 2147483647/);
      await expect(engine.generate({ promptIds: [1], maxNewTokens: 2 ** 40 })).rejects.toThrow(/maxNewTokens must be a whole number/);
    } finally {
      engine.close();
    }
    expect(() => InferenceEngine.open(buildLoadPlan(STORIES_DIR), { threads: 1e9 })).toThrow(/threads must be a whole number from 0 to 1024/);
  });
});
