import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFixtures, fixtureStamp } from '../../bench/synth/fixtures.js';
import { FIXTURES } from '../../bench/synth/fixture-specs.js';
import { tempDir } from './helpers.js';

const out = tempDir('fixtures');
afterAll(() => rmSync(out, { recursive: true, force: true }));

const mtimes = (dir: string): Record<string, number> =>
  Object.fromEntries(readdirSync(dir).map((f) => [f, statSync(join(dir, f)).mtimeMs]));

describe('buildFixtures', () => {
  it('writes every fixture with its stamp and leaves no temporary folders', () => {
    const dirs = buildFixtures(out);
    expect(Object.keys(dirs)).toEqual(Object.keys(FIXTURES));
    expect(readdirSync(out).sort()).toEqual(Object.keys(FIXTURES).sort());
    for (const [name, dir] of Object.entries(dirs)) {
      expect(dir).toBe(join(out, name));
      expect(readFileSync(join(dir, 'fixture.stamp'), 'utf8').trim()).toBe(fixtureStamp(FIXTURES[name]));
      expect(readdirSync(dir)).toContain('config.json');
    }
  });

  it('leaves fresh fixtures alone and rewrites only stale ones', () => {
    const dirs = buildFixtures(out);
    const stale = 'mistral-mqa-swa-f16';
    const before = Object.fromEntries(Object.entries(dirs).map(([n, d]) => [n, mtimes(d)]));
    writeFileSync(join(dirs[stale], 'fixture.stamp'), 'from an older generator\n');
    rmSync(join(dirs[stale], 'model.safetensors'));
    buildFixtures(out);
    for (const [name, dir] of Object.entries(dirs)) {
      if (name === stale) expect(readdirSync(dir)).toContain('model.safetensors');
      else expect(mtimes(dir), name).toEqual(before[name]);
    }
    expect(readFileSync(join(dirs[stale], 'fixture.stamp'), 'utf8').trim()).toBe(fixtureStamp(FIXTURES[stale]));
  });

  it('stamps differ between fixtures and change with the spec', () => {
    const stamps = Object.values(FIXTURES).map(fixtureStamp);
    expect(new Set(stamps).size).toBe(stamps.length);
    const spec = FIXTURES['llama-tied-gqa-f32'];
    expect(fixtureStamp({ ...spec, seed: spec.seed + 1 })).not.toBe(fixtureStamp(spec));
  });
});
