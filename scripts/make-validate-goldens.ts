// Rewrites the validate goldens in test/golden/validate/ from Hugging Face transformers: for every
// fixture, the short (8-token) and long (512-token) prompts of `rabbit-bench validate`, with
// 16 greedy tokens each.
//
//   npx tsc -p tsconfig.json && node dist/scripts/make-validate-goldens.js [FIXTURE...]
//
// With names, only those fixtures' goldens are rewritten.
// Run from the repository root after changing the fixture specs, the weight generator or the
// validate prompts. Needs the Python of scripts/setup-hf-venv.sh (or HF_PYTHON pointing at a
// Python with torch and transformers). Fails if a golden would make a weak or flaky test.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { buildLoadPlan } from '../bench/model/plan.js';
import { readReference } from '../bench/reference/reference-file.js';
import { validatePrompt } from '../bench/validate/prompts.js';
import { validateGoldenDir, validateGoldenPath, VALIDATE_NEW_TOKENS } from '../bench/validate/references.js';
import { PROMPT_KINDS } from '../bench/validate/schema.js';
import { buildFixtures } from '../bench/synth/fixtures.js';
import { goldenProblems, minMargin } from '../test/fixtures/golden.js';
import { TEST_FIXTURES_DIR } from './fixtures-dir.js';

function python(): string {
  if (process.env.HF_PYTHON) return process.env.HF_PYTHON;
  return existsSync('.venv-hf/bin/python') ? '.venv-hf/bin/python' : 'python3';
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const work = mkdtempSync(join(tmpdir(), 'rabbit-validate-goldens-'));
  mkdirSync(validateGoldenDir(), { recursive: true });
  const written: string[] = [];
  try {
    const fixtures = Object.entries(buildFixtures(TEST_FIXTURES_DIR));
    const unknown = only.filter((name) => !fixtures.some(([n]) => n === name));
    if (unknown.length > 0) throw new Error(`no fixture named ${unknown.join(', ')}`);
    for (const [name, dir] of fixtures) {
      if (only.length > 0 && !only.includes(name)) continue;
      const plan = buildLoadPlan(dir);
      const prompts = await Promise.all(PROMPT_KINDS.map((k) => validatePrompt(plan, k)));
      for (const p of prompts) if (p.note) console.error(`warning: ${name}: ${p.note}`);
      const promptsFile = join(work, `${name}.prompts.json`);
      writeFileSync(promptsFile, JSON.stringify(prompts.map((p) => ({ name: p.name, ids: p.ids }))));
      const args = ['scripts/hf_reference.py', '--model', dir, '--prompts', promptsFile,
        '--max-new-tokens', String(VALIDATE_NEW_TOKENS), '--out', validateGoldenPath(name), '--threads', '1'];
      const r = spawnSync(python(), args, { stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`hf_reference.py failed for ${name} (exit ${r.status ?? r.signal})`);
      written.push(name);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const problems: string[] = [];
  console.log('validate golden'.padEnd(36), 'bytes'.padStart(7), 'min margin'.padStart(11), ' prompt tokens, distinct greedy tokens per case');
  for (const name of written) {
    const file = validateGoldenPath(name);
    const golden = readReference(file);
    problems.push(...goldenProblems(golden));
    const margin = Math.min(...golden.cases.map(minMargin));
    const cases = golden.cases.map((c) => `${c.name}:${c.prompt_ids.length} tok ${new Set(c.greedy_tokens).size}/${c.greedy_tokens.length}`);
    console.log(name.padEnd(36), String(statSync(file).size).padStart(7), margin.toFixed(4).padStart(11), '', cases.join('  '));
  }
  if (problems.length > 0) {
    console.error(`\n${problems.join('\n')}\nThese goldens would make weak or flaky checks.`);
    process.exit(1);
  }
  console.log(`\nwrote ${written.length} goldens to ${relative(process.cwd(), validateGoldenDir())}/`);
}

await main();
