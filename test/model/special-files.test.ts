// FIFOs and devices where a model's files should be: a clear error at once, never a
// hang (a FIFO without a writer) or a native abort (/dev/zero read to the end).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJsonFile } from '../../bench/json-file.js';
import { REPO_ROOT, STORIES_DIR, HAS_STORIES, STORIES_SUITE } from '../helpers/paths.js';
import { runCommand } from '../helpers/run.js';
import { tempDirs } from '../helpers/temp.js';

const temp = tempDirs();

const CLI = join(REPO_ROOT, 'dist', 'bench', 'cli.js');
// Permission checks are what the unreadable-folder case is about, and root skips them.
const AS_USER = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
const USER_CAN_RUN_CLI = spawnSync(process.execPath, [CLI, '--version'], AS_USER).status === 0;

function generate(dir: string, prompt: string[], as: { uid?: number; gid?: number } = {}) {
  return runCommand(process.execPath, [CLI, 'generate', '--model', dir, ...prompt, '--max-new-tokens', '2'], {
    timeoutMs: 30_000,
    ...as,
  });
}

describe.skipIf(!HAS_STORIES)(`special files as model metadata (${STORIES_SUITE})`, () => {
  for (const name of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) {
    it(`a FIFO as ${name}: refused at once`, async () => {
      const dir = join(temp('rb-fifo-'), 'model');
      cpSync(STORIES_DIR, dir, { recursive: true });
      rmSync(join(dir, name));
      expect(spawnSync('mkfifo', [join(dir, name)]).status).toBe(0);
      const r = await generate(dir, ['--prompt', 'Once upon a time']);
      expect(r.signal, 'hung').toBeNull();
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${name.replace('.', '\\.')} is not a regular file`));
    });
  }

  it('/dev/zero as tokenizer.json: refused, no native abort', async () => {
    const dir = join(temp('rb-dev-'), 'model');
    cpSync(STORIES_DIR, dir, { recursive: true });
    rmSync(join(dir, 'tokenizer.json'));
    symlinkSync('/dev/zero', join(dir, 'tokenizer.json'));
    const r = await generate(dir, ['--prompt', 'Once upon a time']);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/tokenizer\.json is not a regular file/);
  });
});

describe.skipIf(!HAS_STORIES)(`unreadable model folder (${STORIES_SUITE})`, () => {
  it.skipIf(!USER_CAN_RUN_CLI)('says it cannot read the folder, not that config.json is missing (needs the user nobody to read this checkout)', async () => {
    const parent = temp('rb-noread-');
    chmodSync(parent, 0o755);
    const dir = join(parent, 'model');
    cpSync(STORIES_DIR, dir, { recursive: true });
    chmodSync(dir, 0o000);
    const r = await generate(dir, ['--prompt', 'Once upon a time'], AS_USER);
    chmodSync(dir, 0o755);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read the model folder .*model \(EACCES\)/);
  });
});

describe('JSON files', () => {
  it('a parse error says where, not what the file holds', () => {
    const file = join(temp('rb-json-'), 'secret.json');
    writeFileSync(file, 'root:*:20000:0:99999:7:::');
    expect(() => readJsonFile(file, 'config')).toThrow(/secret\.json: not valid JSON$/);
    try {
      readJsonFile(file, 'config');
    } catch (err) {
      expect((err as Error).message).not.toMatch(/root/);
    }
  });

  it('names the character where parsing stopped when the parser knows it', () => {
    const file = join(temp('rb-json-'), 'config.json');
    writeFileSync(file, '{"a": 1,}');
    expect(() => readJsonFile(file, 'config')).toThrow(/config\.json: not valid JSON \(at character 8\)$/);
  });
});
