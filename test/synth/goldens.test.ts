import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { REFERENCE_SCHEMA } from '../../bench/reference/reference-file.js';
import { REGENERATE_GOLDENS, goldenPath, goldenProblems, readGolden } from '../fixtures/golden.js';
import { FIXTURES } from '../../bench/synth/fixture-specs.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function weightHashes(dir: string): Record<string, string> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  return Object.fromEntries(files.map((f) => [f, sha256(join(dir, f))]));
}

let dirs: Record<string, string>;
beforeAll(() => {
  dirs = buildFixtures(TEST_FIXTURES_DIR);
});

describe('goldens', () => {
  it('exist for every fixture and stay small', () => {
    for (const name of [...Object.keys(FIXTURES), 'stories260K']) {
      expect(existsSync(goldenPath(name)), `missing ${goldenPath(name)}: run ${REGENERATE_GOLDENS}`).toBe(true);
      expect(statSync(goldenPath(name)).size).toBeLessThan(40_000);
    }
  });

  it('were made from exactly the weights the generator writes now', () => {
    for (const [name, dir] of Object.entries(dirs)) {
      expect(
        weightHashes(dir),
        `${name}: the fixture weights no longer match test/golden/${name}.json, so the goldens are stale ` +
          `(fixture spec or weight generator changed). Regenerate them with: ${REGENERATE_GOLDENS}`,
      ).toEqual(readGolden(name).model_files_sha256);
    }
  });

  it('describe the runs the engine is compared against', () => {
    for (const [name, spec] of Object.entries(FIXTURES)) {
      const g = readGolden(name);
      expect(g).toMatchObject({ schema: REFERENCE_SCHEMA, model: name, dtype: 'float32', attn_implementation: 'eager' });
      expect(g.cases.map((c) => c.name)).toEqual(spec.tokenizer ? ['short', 'long', 'text'] : ['short', 'long']);
      const vocab = spec.config.vocab_size as number;
      for (const c of g.cases) {
        if (c.name === 'short') expect(c.prompt_ids).toHaveLength(8);
        if (c.name === 'long') expect(c.prompt_ids).toHaveLength(160);
        expect(c.prompt_text === null).toBe(c.name !== 'text');
        expect(c.max_new_tokens).toBe(24);
        expect(c.last_logits).toHaveLength(vocab);
        for (const id of [...c.prompt_ids, ...c.greedy_tokens]) expect(id >= 0 && id < vocab).toBe(true);
        // Logits are float32 values written as the shortest decimal that identifies them: within
        // half a float32 ulp, so Math.fround recovers the value exactly.
        for (const x of c.last_logits) expect(Math.abs(Math.fround(x) - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -24);
        // The first greedy token is the argmax of the recorded logits.
        expect(c.last_logits.indexOf(Math.max(...c.last_logits))).toBe(c.greedy_tokens[0]);
      }
    }
  });

  it('have no near-tie at any greedy step and no output stuck on one token', () => {
    for (const name of [...Object.keys(FIXTURES), 'stories260K']) {
      const g = readGolden(name);
      expect(goldenProblems(g), `change the seed in bench/synth/fixture-specs.ts and run ${REGENERATE_GOLDENS}`).toEqual([]);
      for (const c of g.cases) expect(c.greedy_margins).toHaveLength(c.max_new_tokens);
    }
  });

  it.runIf(existsSync('../shared/models/stories260K/model.safetensors'))('stories260K matches the shared model file', () => {
    expect(weightHashes('../shared/models/stories260K')).toEqual(readGolden('stories260K').model_files_sha256);
  });
});
