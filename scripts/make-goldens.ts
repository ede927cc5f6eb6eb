// Rewrites the golden references in test/golden/ from Hugging Face transformers.
//
//   npx tsc -p tsconfig.json && node dist/scripts/make-goldens.js [NAME...]
//
// With names, only those goldens are rewritten (a fixture's name, or stories260K).
// Run from the repository root after changing the fixture specs or the weight generator. Needs the
// Python environment of scripts/setup-hf-venv.sh (or HF_PYTHON pointing at a python that has
// torch and transformers). Fails if a golden would make a weak or flaky test (see goldenProblems).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildFixtures } from '../bench/synth/fixtures.js';
import { GOLDEN_DIR, goldenPath, goldenProblems, minMargin, promptIds, readGolden } from '../test/fixtures/golden.js';
import { FIXTURES } from '../bench/synth/fixture-specs.js';
import { TEST_FIXTURES_DIR } from './fixtures-dir.js';

const FIXTURE_NEW_TOKENS = 24;
const STORIES_NEW_TOKENS = 48;
/** The real model the engine is also checked on; lives beside the repository. */
const STORIES_DIR = '../shared/models/stories260K';
const FIXTURE_TEXT = 'Once upon a time, the little rabbit was in the garden.';
const STORIES_LONG_TEXT =
  'Once upon a time, there was a little rabbit named Tom. Tom lived in a small hole under a big tree near the river. ' +
  'Every morning he hopped out to look for carrots and sweet clover. One day he saw a shiny red ball in the grass. ' +
  'He wanted to play with it, but it belonged to a little girl named Sue. Sue was sad because she could not find her ball. ' +
  'Tom pushed the ball with his nose all the way to her house. Sue was so happy that she gave Tom a big hug and a carrot. ' +
  'From that day on, Tom and Sue were best friends, and they played together in the park every day.';

type Prompt = { name: string; ids: number[] } | { name: string; text: string };

function python(): string {
  if (process.env.HF_PYTHON) return process.env.HF_PYTHON;
  return existsSync('.venv-hf/bin/python') ? '.venv-hf/bin/python' : 'python3';
}

function reference(modelDir: string, name: string, prompts: Prompt[], maxNewTokens: number, work: string): void {
  const promptsFile = join(work, `${name}.prompts.json`);
  writeFileSync(promptsFile, JSON.stringify(prompts));
  const args = ['scripts/hf_reference.py', '--model', modelDir, '--prompts', promptsFile,
    '--max-new-tokens', String(maxNewTokens), '--out', goldenPath(name), '--threads', '1'];
  const r = spawnSync(python(), args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`hf_reference.py failed for ${name} (exit ${r.status ?? r.signal})`);
}

function main(): void {
  const only = process.argv.slice(2);
  const wanted = (name: string): boolean => only.length === 0 || only.includes(name);
  const unknown = only.filter((name) => name !== 'stories260K' && !Object.hasOwn(FIXTURES, name));
  if (unknown.length > 0) throw new Error(`no fixture named ${unknown.join(', ')}`);
  const work = mkdtempSync(join(tmpdir(), 'rabbit-goldens-'));
  const written: string[] = [];
  try {
    for (const [name, dir] of Object.entries(buildFixtures(TEST_FIXTURES_DIR))) {
      if (!wanted(name)) continue;
      const spec = FIXTURES[name];
      const vocab = spec.config.vocab_size as number;
      const prompts: Prompt[] = [
        { name: 'short', ids: promptIds('short', 8, vocab) },
        { name: 'long', ids: promptIds('long', 160, vocab) },
        ...(spec.tokenizer ? [{ name: 'text', text: FIXTURE_TEXT }] : []),
      ];
      reference(dir, name, prompts, FIXTURE_NEW_TOKENS, work);
      written.push(name);
    }
    if (wanted('stories260K') && existsSync(join(STORIES_DIR, 'model.safetensors'))) {
      const prompts: Prompt[] = [
        { name: 'short', text: 'Once upon a time' },
        { name: 'long', text: STORIES_LONG_TEXT },
      ];
      reference(resolve(STORIES_DIR), 'stories260K', prompts, STORIES_NEW_TOKENS, work);
      written.push('stories260K');
    } else if (wanted('stories260K')) {
      console.error(`warning: ${STORIES_DIR} not found; test/golden/stories260K.json left as it is`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const problems: string[] = [];
  console.log('golden'.padEnd(36), 'bytes'.padStart(7), 'min margin'.padStart(11), ' distinct greedy tokens per case');
  for (const name of written) {
    const golden = readGolden(name);
    problems.push(...goldenProblems(golden));
    const margin = Math.min(...golden.cases.map(minMargin));
    const distinct = golden.cases.map((c) => `${c.name}:${new Set(c.greedy_tokens).size}/${c.greedy_tokens.length}`);
    console.log(name.padEnd(36), String(statSync(goldenPath(name)).size).padStart(7), margin.toFixed(4).padStart(11), '', distinct.join(' '));
  }
  if (problems.length > 0) {
    console.error(`\n${problems.join('\n')}\nChange the seed of the fixtures above in test/fixtures/specs.ts and rerun.`);
    process.exit(1);
  }
  console.log(`\nwrote ${written.length} goldens to ${GOLDEN_DIR}/`);
}

main();
