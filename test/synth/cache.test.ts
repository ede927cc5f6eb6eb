// The one cache of synthesised models: written once and renamed into place, refused up front when
// the disk is too small, and nothing that looks finished after a writer fails; and the one naming
// scheme every synthesised model is cached under.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { modelInfo } from '../../bench/profile/model-info.js';
import { ensureSynthesised, synthCacheDir } from '../../bench/synth/cache.js';
import { SYNTH_VERSION } from '../../bench/synth/checkpoint.js';
import { DEFAULT_SHAPE, ensureDefaultModel, ensureShapeModel, shapeModelName } from '../../bench/synth/models.js';

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

describe('ensureShapeModel', () => {
  const v = `v${SYNTH_VERSION}`;

  it('names every model one way: shape, layers only when cut, dtype or GGUF mix, seed, generator version', () => {
    expect(shapeModelName({ shape: 'qwen2.5-7b', layers: 2, dtype: 'bfloat16' })).toBe(`qwen2.5-7b-L2-bf16-seed0-${v}`);
    expect(shapeModelName({ shape: 'qwen2.5-0.5b', dtype: 'float32' })).toBe(`qwen2.5-0.5b-f32-seed0-${v}`);
    expect(shapeModelName({ shape: 'qwen2.5-0.5b', dtype: 'float16', seed: 7 })).toBe(`qwen2.5-0.5b-f16-seed7-${v}`);
    expect(shapeModelName({ shape: 'smollm2-135m', format: 'gguf', dtype: 'q4_k_m' })).toBe(`smollm2-135m-Q4_K_M-seed0-${v}.gguf`);
    // A request for every layer (or more) is the uncut model, not another entry of the same bytes.
    expect(shapeModelName({ shape: 'smollm2-135m', layers: 30, dtype: 'bfloat16' })).toBe(shapeModelName({ shape: 'smollm2-135m', dtype: 'bfloat16' }));
    expect(shapeModelName({ shape: 'smollm2-135m', layers: 99, dtype: 'bfloat16' })).toBe(shapeModelName({ shape: 'smollm2-135m', dtype: 'bfloat16' }));
  });

  it('keeps the default model where users have it cached, and reuses it there', () => {
    const cached = join(synthCacheDir(env), `smollm2-135m-bf16-seed0-${v}`);
    expect(shapeModelName({ shape: DEFAULT_SHAPE, dtype: 'bfloat16' })).toBe(`smollm2-135m-bf16-seed0-${v}`);
    mkdirSync(cached, { recursive: true });
    writeFileSync(join(cached, 'config.json'), '{}');
    const lines: string[] = [];
    expect(ensureDefaultModel((l) => lines.push(l), env)).toBe(cached);
    expect(ensureShapeModel({ shape: 'smollm2-135m', dtype: 'bfloat16' }, (l) => lines.push(l), env).path).toBe(cached);
    expect(lines).toEqual([]);
  });

  it('writes what its name says, once, and says what it writes', () => {
    const lines: string[] = [];
    const m = ensureShapeModel({ shape: 'smollm2-135m', layers: 1, dtype: 'bfloat16', seed: 7 }, (l) => lines.push(l), env);
    expect(m).toMatchObject({ path: join(synthCacheDir(env), `smollm2-135m-L1-bf16-seed7-${v}`), layers: 1, fullLayers: 30, fullParams: 134_515_008 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^synthesising smollm2-135m \(1 of 30 layers, bf16, random weights, seed 7, \d+ MiB\) into /);
    const plan = buildLoadPlan(m.path);
    expect(plan.spec).toMatchObject({ numLayers: 1, dtype: 'bfloat16' });
    expect(modelInfo(plan).synthetic).toEqual({ shape: 'smollm2-135m', seed: 7 });
    expect(ensureShapeModel({ shape: 'smollm2-135m', layers: 1, dtype: 'bfloat16', seed: 7 }, (l) => lines.push(l), env).path).toBe(m.path);
    expect(lines).toHaveLength(1);
  });

  it('bad layer counts and unknown shapes are usage errors', () => {
    expect(() => ensureShapeModel({ shape: 'smollm2-135m', layers: 0, dtype: 'bfloat16' }, () => {}, env)).toThrow(/--layers must be a whole number >= 1/);
    expect(() => shapeModelName({ shape: 'no-such-shape', dtype: 'bfloat16' })).toThrow(/no-such-shape/);
    expect(() => shapeModelName({ shape: 'smollm2-135m', format: 'gguf', dtype: 'Q3_X' })).toThrow(/--type must be one of/);
  });

  // A 70B shape in f32 needs ~263 GiB: refused on any disk with less free, before a byte is written.
  const free = Number(statfsSync(home).bavail) * Number(statfsSync(home).bsize);
  it.skipIf(free > 2 ** 37)('refuses a model larger than the free disk up front, with the remedy that fits the request', () => {
    const wrote = () => readdirSync(synthCacheDir(env)).filter((n) => n.startsWith('llama-3.1-70b'));
    expect(() => ensureShapeModel({ shape: 'llama-3.1-70b', dtype: 'float32' }, () => {}, env))
      .toThrow(/^synthesising llama-3\.1-70b \(f32, random weights, seed 0, \d+ MiB\) needs 26\d\.\d\d GiB in .*: free some space$/);
    expect(() => ensureShapeModel({ shape: 'llama-3.1-70b', layers: 40, dtype: 'float32' }, () => {}, env))
      .toThrow(/^synthesising llama-3\.1-70b \(40 of 80 layers, f32, .* GiB are free: use fewer --layers or free some space$/);
    expect(wrote()).toEqual([]);
  });
});
