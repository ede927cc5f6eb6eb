// Rewrites the GGUF goldens in test/golden/gguf/ from transformers' GGUF loader:
//
//   npx tsc -p tsconfig.json && node dist/scripts/make-gguf-goldens.js
//
// References for every GGUF fixture (rabbit-bench's writer) and every shared file written by
// llama.cpp (../shared/models), and the token ids of transformers' GGUF tokenizers. Needs the
// Python of scripts/setup-hf-venv.sh with gguf and accelerate (or HF_PYTHON).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { buildLoadPlan } from '../bench/model/plan.js';
import { goldenProblems, promptIds, readGolden } from '../test/fixtures/golden.js';
import {
  GGUF_GOLDEN_DIR,
  SHARED_GGUF_DIRS,
  TOKENIZER_TEXTS,
  buildGgufFixtures,
  buildTokenizerFixtures,
} from '../test/fixtures/gguf.js';

const NEW_TOKENS = 24;

function python(): string {
  if (process.env.HF_PYTHON) return process.env.HF_PYTHON;
  return existsSync('.venv-hf/bin/python') ? '.venv-hf/bin/python' : 'python3';
}

function run(args: string[], what: string): void {
  const r = spawnSync(python(), args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal})`);
}

function reference(file: string, name: string, work: string): string {
  const vocab = buildLoadPlan(file).spec.vocabSize;
  const prompts = [
    { name: 'short', ids: promptIds('short', 8, vocab) },
    { name: 'long', ids: promptIds('long', 160, vocab) },
  ];
  const promptsFile = join(work, `${name}.prompts.json`);
  writeFileSync(promptsFile, JSON.stringify(prompts));
  const out = join(GGUF_GOLDEN_DIR, `${name}.json`);
  run(['scripts/hf_reference.py', '--model', dirname(file), '--gguf-file', basename(file), '--prompts', promptsFile,
    '--max-new-tokens', String(NEW_TOKENS), '--out', out, '--threads', '1'], `hf_reference.py for ${name}`);
  return name;
}

function tokenizerGolden(file: string, name: string, work: string): void {
  const texts = join(work, 'texts.json');
  writeFileSync(texts, JSON.stringify(TOKENIZER_TEXTS));
  run(['scripts/hf_gguf_tokenizer.py', '--gguf', file, '--texts', texts, '--out', join(GGUF_GOLDEN_DIR, `tokenizer-${name}.json`)],
    `hf_gguf_tokenizer.py for ${name}`);
}

function sharedFiles(): string[] {
  return SHARED_GGUF_DIRS.flatMap((dir) => {
    if (!existsSync(dir)) {
      console.error(`warning: ${dir} not found; its goldens are left as they are`);
      return [];
    }
    return readdirSync(dir).filter((n) => n.endsWith('.gguf')).sort().map((f) => resolve(dir, f));
  });
}

function main(): void {
  mkdirSync(GGUF_GOLDEN_DIR, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'rabbit-gguf-goldens-'));
  const written: string[] = [];
  try {
    for (const [name, file] of Object.entries(buildGgufFixtures())) written.push(reference(file, name, work));
    for (const f of sharedFiles()) written.push(reference(f, `shared-${basename(f, '.gguf')}`, work));
    const hashed = [...Object.values(buildGgufFixtures()), ...sharedFiles()];
    run(['scripts/gguf_dequant_hashes.py', '--out', join(GGUF_GOLDEN_DIR, 'dequant-sha256.json'), ...hashed], 'gguf_dequant_hashes.py');
    const stories = resolve(SHARED_GGUF_DIRS[0], 'stories260K-f32.gguf');
    if (existsSync(stories)) tokenizerGolden(stories, 'stories260K', work);
    for (const [name, file] of Object.entries(buildTokenizerFixtures())) tokenizerGolden(file, name.replace(/^tokenizer-/, ''), work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const problems = written.flatMap((name) => goldenProblems(readGolden(name, GGUF_GOLDEN_DIR)));
  if (problems.length > 0) {
    console.error(`\n${problems.join('\n')}\nChange the seed of the fixtures above in test/fixtures/gguf.ts and rerun.`);
    process.exit(1);
  }
  console.log(`wrote ${written.length} references and the tokenizer goldens to ${GGUF_GOLDEN_DIR}/`);
}

main();
