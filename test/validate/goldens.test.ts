// The validate goldens: one per fixture, made from today's fixture weights and validate prompts,
// with greedy margins wide enough that comparing argmaxes is not flaky.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { readReference } from '../../bench/reference/reference-file.js';
import { checkReferenceWeights } from '../../bench/reference/weights-check.js';
import { LONG_PROMPT_TOKENS, SHORT_PROMPT_TOKENS, validatePrompt } from '../../bench/validate/prompts.js';
import { REGENERATE_VALIDATE_GOLDENS, VALIDATE_NEW_TOKENS, validateGoldenPath } from '../../bench/validate/references.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { goldenProblems } from '../fixtures/golden.js';
import { FIXTURES } from '../../bench/synth/fixture-specs.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';

describe('validate goldens (test/golden/validate)', () => {
  let dirs: Record<string, string>;
  beforeAll(() => {
    dirs = buildFixtures(TEST_FIXTURES_DIR);
  });

  for (const name of Object.keys(FIXTURES)) {
    it(`${name}: fresh, short ${SHORT_PROMPT_TOKENS} and long ${LONG_PROMPT_TOKENS} tokens, safe greedy margins`, async () => {
      const golden = readReference(validateGoldenPath(name));
      const plan = buildLoadPlan(dirs[name]);
      const stale = `stale: run \`${REGENERATE_VALIDATE_GOLDENS}\``;
      expect(checkReferenceWeights(golden, plan.files), stale).toEqual({ status: 'match' });
      expect(golden.cases.map((c) => c.name)).toEqual(['short', 'long']);
      for (const c of golden.cases) {
        const prompt = await validatePrompt(plan, c.name as 'short' | 'long');
        expect(c.prompt_ids, stale).toEqual(prompt.ids);
        expect(c.max_new_tokens).toBe(VALIDATE_NEW_TOKENS);
      }
      expect(golden.cases[1].prompt_ids).toHaveLength(LONG_PROMPT_TOKENS);
      expect(goldenProblems(golden)).toEqual([]);
    });
  }
});
