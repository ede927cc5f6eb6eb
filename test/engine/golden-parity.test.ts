// The engine against committed Hugging Face references: every fixture architecture with a
// short and a >= 150-token prompt, and the real stories260K model.
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../bench/engine/engine.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { goldenPath, REGENERATE_GOLDENS } from '../fixtures/golden.js';
import { FIXTURES } from '../../bench/synth/fixture-specs.js';
import { expectGoldenParity } from '../helpers/parity.js';
import { HAS_STORIES, STORIES_DIR, STORIES_SUITE, TEST_FIXTURES_DIR } from '../helpers/paths.js';

const expectParity = (modelDir: string, golden: string, engineOptions: Parameters<typeof InferenceEngine.open>[1] = {}) =>
  expectGoldenParity(modelDir, golden, REGENERATE_GOLDENS, engineOptions);

describe('engine vs golden HF references (fixtures)', () => {
  let dirs: Record<string, string>;
  beforeAll(() => {
    dirs = buildFixtures(TEST_FIXTURES_DIR);
  });

  for (const name of Object.keys(FIXTURES)) {
    it(`${name}: streaming with prefetch matches HF`, async () => {
      await expectParity(dirs[name], goldenPath(name));
    });
  }

  it('no-prefetch and resident modes match HF too (Qwen3 fixture)', async () => {
    await expectParity(dirs['qwen3-headdim-qknorm-f32'], goldenPath('qwen3-headdim-qknorm-f32'), { prefetch: false });
    await expectParity(dirs['qwen3-headdim-qknorm-f32'], goldenPath('qwen3-headdim-qknorm-f32'), { resident: true });
  });
});

describe.skipIf(!HAS_STORIES)(`engine vs golden HF reference (${STORIES_SUITE})`, () => {
  it('greedy from "Once upon a time" is identical to HF for 48 tokens, and a long prompt too', async () => {
    const results = await expectParity(STORIES_DIR, goldenPath('stories260K'));
    expect(results[0].metrics.greedyPrefix).toBe(48);
  });
});
