// Paths named by model files stay inside the model: a crafted index cannot make the loader open
// /etc/passwd, an absolute path or a symlink out of the folder, and no error prints the contents
// of a file it should not have read. Hugging Face cache snapshots, whose files link to the repo's
// blobs, still load.
import { cpSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { tempDirs } from '../helpers/temp.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';

const temp = tempDirs();
const SHARDED = 'llama-untied-mha-llama3-bias-bf16';

describe('shard paths stay in the model folder', () => {
  let source: string;
  beforeAll(() => {
    source = buildFixtures(TEST_FIXTURES_DIR)[SHARDED];
  });

  function copyWithIndex(edit: (map: Record<string, string>, dir: string) => void): string {
    const dir = join(temp('rb-escape-'), 'model');
    cpSync(source, dir, { recursive: true });
    const indexFile = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexFile, 'utf8'));
    edit(index.weight_map, dir);
    writeFileSync(indexFile, JSON.stringify(index));
    return dir;
  }

  const first = (map: Record<string, string>) => Object.keys(map).find((k) => k.startsWith('model.layers.0.'))!;

  it('a ../ path, an absolute path and a symlink out of the folder are refused, naming the shard', () => {
    const secret = join(temp('rb-secret-'), 'passwd');
    writeFileSync(secret, 'root:*:20000:0:99999:7:::\n'.repeat(4));
    const dotdot = copyWithIndex((map) => (map[first(map)] = '../../../../../../../../etc/passwd'));
    expect(() => buildLoadPlan(dotdot)).toThrow(/shard \.\.\/\.\.\/.*etc\/passwd resolves outside the model folder/);
    const absolute = copyWithIndex((map) => (map[first(map)] = secret));
    expect(() => buildLoadPlan(absolute)).toThrow(/names the absolute path .*passwd: a model's files must lie in its folder/);
    const linked = copyWithIndex((map, dir) => {
      symlinkSync(secret, join(dir, 'evil.safetensors'));
      map[first(map)] = 'evil.safetensors';
    });
    let message = '';
    try {
      buildLoadPlan(linked);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/shard evil\.safetensors resolves outside the model folder/);
    expect(message).not.toMatch(/root|20000/);
  });

  it('a file that is not a checkpoint inside the folder: the error shows no byte of it', () => {
    const dir = copyWithIndex((map, d) => {
      writeFileSync(join(d, 'notes.safetensors'), 'root:*:20000:0:99999:7:::\n');
      map[first(map)] = 'notes.safetensors';
    });
    let message = '';
    try {
      buildLoadPlan(dir);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/header length exceeds the file size/);
    expect(message).not.toMatch(/\d{8,}/);
  });

  it('a Hugging Face cache snapshot whose files link to ../../blobs loads', () => {
    const repo = join(temp('rb-hub-'), 'hub', 'models--org--tiny');
    const snapshot = join(repo, 'snapshots', 'a'.repeat(40));
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    mkdirSync(snapshot, { recursive: true });
    for (const f of readdirSync(source)) {
      const blob = join(repo, 'blobs', `blob-${f}`);
      cpSync(join(source, f), blob);
      symlinkSync(join('..', '..', 'blobs', `blob-${f}`), join(snapshot, f));
    }
    expect(buildLoadPlan(snapshot).layers).toHaveLength(3);
  });

  it('outside a cache, model.safetensors and config.json that link out of the folder are refused', () => {
    const stories = join(temp('rb-escape-'), 'model');
    const elsewhere = temp('rb-elsewhere-');
    cpSync(buildFixtures(TEST_FIXTURES_DIR)['llama-tied-gqa-f32'], stories, { recursive: true });
    renameSync(join(stories, 'model.safetensors'), join(elsewhere, 'model.safetensors'));
    symlinkSync(join(elsewhere, 'model.safetensors'), join(stories, 'model.safetensors'));
    expect(() => buildLoadPlan(stories)).toThrow(/model\.safetensors resolves outside the model folder/);
    renameSync(join(elsewhere, 'model.safetensors'), join(stories, 'weights'));
    rmSync(join(stories, 'model.safetensors'));
    renameSync(join(stories, 'weights'), join(stories, 'model.safetensors'));
    renameSync(join(stories, 'config.json'), join(elsewhere, 'config.json'));
    symlinkSync(join(elsewhere, 'config.json'), join(stories, 'config.json'));
    expect(() => buildLoadPlan(stories)).toThrow(/config\.json resolves outside the model folder/);
  });
});
