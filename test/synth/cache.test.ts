// The one cache of synthesised models: written once and renamed into place, refused up front when
// the disk is too small, and nothing that looks finished after a writer fails.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSynthesised, synthCacheDir } from '../../bench/synth/cache.js';

const home = mkdtempSync(join(tmpdir(), 'rb-cache-'));
const env = { XDG_CACHE_HOME: home };
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('ensureSynthesised', () => {
  it('writes a model once, says so once, and hands back the same path after', () => {
    const lines: string[] = [];
    let writes = 0;
    const model = { name: 'm.bin', what: 'a test model', write: (p: string) => { writes++; writeFileSync(p, 'x'); } };
    const path = ensureSynthesised(model, (l) => lines.push(l), env);
    expect(path).toBe(join(home, 'rabbit-bench', 'models', 'm.bin'));
    expect(ensureSynthesised(model, (l) => lines.push(l), env)).toBe(path);
    expect(writes).toBe(1);
    expect(lines).toEqual([`synthesising a test model into ${path} — once`]);
  });

  it('a writer that fails leaves nothing behind, under the final name or beside it', () => {
    const model = { name: 'broken', what: 'a broken model', write: (p: string) => { writeFileSync(p, 'half'); throw new Error('disk full'); } };
    expect(() => ensureSynthesised(model, () => {}, env)).toThrow('disk full');
    expect(existsSync(join(synthCacheDir(env), 'broken'))).toBe(false);
    expect(readdirSync(synthCacheDir(env)).filter((n) => n.startsWith('broken'))).toEqual([]);
  });

  it('more bytes than the disk has free is refused before writing, with the remedy', () => {
    let wrote = false;
    const model = { name: 'huge', what: 'a huge model', bytes: 2 ** 60, smaller: 'use fewer --layers', write: () => { wrote = true; } };
    expect(() => ensureSynthesised(model, () => {}, env)).toThrow(/synthesising a huge model needs \d+\.\d+ GiB in .*, but only .* GiB are free: use fewer --layers or free some space/);
    expect(wrote).toBe(false);
    expect(readdirSync(synthCacheDir(env)).filter((n) => n.startsWith('huge'))).toEqual([]);
  });
});
