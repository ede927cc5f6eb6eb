// Bad checkpoints, configs and requests end in a clear JS error (and a clean CLI exit), never
// a crash of the Node process.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../bench/engine/engine.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR, STORIES_SUITE } from '../helpers/paths.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A writable copy of stories260K that a test may damage. */
function copyOfStories(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-bad-'));
  dirs.push(dir);
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    copyFileSync(join(STORIES_DIR, f), join(dir, f));
  }
  return dir;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  edit(c);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
}

/** The CLI on a broken model: exit 2 (bad input), one error line, no stack trace, no signal. */
async function expectCleanCliFailure(dir: string, pattern: RegExp): Promise<void> {
  const r = await runCli(['generate', '--model', dir, '--prompt-ids', '1,2,3', '--max-new-tokens', '2']);
  expect(r.signal).toBeNull();
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^rabbit-bench: error: /m);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe.skipIf(!HAS_STORIES)(`bad input (${STORIES_SUITE})`, () => {
  it('a truncated safetensors file', async () => {
    const dir = copyOfStories();
    truncateSync(join(dir, 'model.safetensors'), Math.floor(statSync(join(dir, 'model.safetensors')).size / 2));
    expect(() => buildLoadPlan(dir)).toThrow(/truncated/);
    await expectCleanCliFailure(dir, /truncated/);
  });

  it('a file truncated after the plan was made: a JS error from the engine, at open or from the prefetch thread', async () => {
    const dir = copyOfStories();
    const plan = buildLoadPlan(dir);
    for (const prefetch of [true, false]) {
      const engine = InferenceEngine.open(plan, { prefetch });
      truncateSync(join(dir, 'model.safetensors'), 4096);
      await expect(engine.generate({ promptIds: [1, 2], maxNewTokens: 2 })).rejects.toThrow(/model\.safetensors is truncated: needed bytes up to offset \d+, file ends at 4096/);
      engine.close();
      copyFileSync(join(STORIES_DIR, 'model.safetensors'), join(dir, 'model.safetensors'));
    }
    truncateSync(join(dir, 'model.safetensors'), 4096);
    expect(() => InferenceEngine.open(plan, {})).toThrow(/truncated/);
  });

  it('a header length beyond the file', async () => {
    const dir = copyOfStories();
    const file = join(dir, 'model.safetensors');
    const bytes = readFileSync(file);
    bytes.writeBigUInt64LE(BigInt(bytes.length * 4), 0);
    writeFileSync(file, bytes);
    await expectCleanCliFailure(dir, /header length exceeds the file size/);
  });

  it('random bytes instead of a checkpoint', async () => {
    const dir = copyOfStories();
    let x = 12345;
    const noise = Buffer.alloc(65536, 0).map(() => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
    writeFileSync(join(dir, 'model.safetensors'), noise);
    await expectCleanCliFailure(dir, /model\.safetensors/);
  });

  it('a missing weights file and a missing shard', async () => {
    const dir = copyOfStories();
    rmSync(join(dir, 'model.safetensors'));
    await expectCleanCliFailure(dir, /model\.safetensors/);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': 'model-00001-of-00002.safetensors' } }));
    await expectCleanCliFailure(dir, /model-00001-of-00002\.safetensors/);
  });

  it('an unknown architecture is named in the error', async () => {
    const dir = copyOfStories();
    editConfig(dir, (c) => {
      c.architectures = ['GPTNeoXForCausalLM'];
      c.model_type = 'gpt_neox';
    });
    await expectCleanCliFailure(dir, /GPTNeoXForCausalLM/);
  });

  it('a config that contradicts the tensor shapes', async () => {
    const dir = copyOfStories();
    editConfig(dir, (c) => {
      c.num_key_value_heads = 8;
    });
    await expectCleanCliFailure(dir, /k_proj.*num_key_value_heads=8/);
  });

  it('a prompt longer than max_position_embeddings, and token ids outside the vocabulary', async () => {
    const plan = buildLoadPlan(STORIES_DIR);
    const engine = InferenceEngine.open(plan, {});
    await expect(engine.generate({ promptIds: new Array(513).fill(5), maxNewTokens: 1 })).rejects.toThrow(/513 tokens, more than the model's max_position_embeddings \(512\)/);
    await expect(engine.generate({ promptIds: [1, 600], maxNewTokens: 1 })).rejects.toThrow(/token id 600 is outside the vocabulary/);
    engine.close();
    const r = await runCli(['generate', '--model', STORIES_DIR, '--prompt-ids', '1,x']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--prompt-ids must be a comma-separated list/);
  });

  it('impossible options exit non-zero with a message', async () => {
    const both = await runCli(['generate', '--model', STORIES_DIR, '--prompt', 'a', '--prompt-ids', '1']);
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(/exactly one of --prompt or --prompt-ids/);
    const temp = await runCli(['generate', '--model', STORIES_DIR, '--prompt', 'a', '--temperature', '-1']);
    expect(temp.status).toBe(1);
    expect(temp.stderr).toMatch(/--temperature must be > 0/);
    const usage = await runCli(['generate', '--model', STORIES_DIR, '--greedy', '--temperature', '0.5', '--prompt', 'a']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/mutually exclusive/);
    const missing = await runCli(['generate', '--model', '/nonexistent/model', '--prompt', 'a']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no such model folder/);
  });
});
