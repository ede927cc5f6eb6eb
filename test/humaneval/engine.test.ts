// `rabbit-bench humaneval --model`: stories260K through the engine on a handful of problems (the
// full 164 is a manual check), engine failures recorded per problem, and transformers' greedy
// completions compared token for token.
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePrompt } from '../../bench/humaneval/completion.js';
import { loadProblems } from '../../bench/humaneval/dataset.js';
import { humanevalReport } from '../../bench/humaneval/report.js';
import { HumanevalResultSchema } from '../../bench/humaneval/schema.js';
import { defaultPython, pythonProblem } from '../../bench/reference/live.js';
import { ModelTokenizer } from '../../bench/tokenizer.js';
import { HAS_STORIES, STORIES_DIR } from '../helpers/paths.js';
import { ensureCompiledWorker, HAS_DATASETS, HUMANEVAL, humaneval, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const READY = HAS_STORIES && HAS_DATASETS;
const SUITE = READY ? 'stories260K' : 'stories260K (skipped: ../shared/models/stories260K or ../shared/datasets is absent)';
const python = defaultPython();
const hfProblem = python ? pythonProblem(python) : 'no .venv-hf (run scripts/setup-hf-venv.sh)';

// HumanEval/32's prompt is 609 stories260K tokens, past its max_position_embeddings of 512.
const PROBLEMS = 'HumanEval/0,HumanEval/32,HumanEval/2';
const CHAT_TEMPLATE = "{% for m in messages %}{{ bos_token }}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";

describe.skipIf(!READY)(`humaneval through the engine (${SUITE})`, () => {
  beforeAll(() => ensureCompiledWorker());

  it('generates, scores, and records timings and per-phase totals; a prompt too long is a recorded error', async () => {
    const r = await humaneval(['--dataset', HUMANEVAL, '--model', STORIES_DIR, '--problems', PROBLEMS, '--max-new-tokens', '48', '--out', tempDir(), '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const [p0, p2, p32] = doc.records; // in dataset order
    expect(p32).toMatchObject({ task_id: 'HumanEval/32', status: 'error', generation: null });
    expect(p32.error).toMatch(/609 tokens, more than the model's max_position_embeddings \(512\)/);
    for (const rec of [p0, p2]) {
      expect(['failed', 'passed']).toContain(rec.status); // a story model writes stories, not Python
      const g = rec.generation;
      expect(g.generated_tokens).toBe(48);
      expect(g.completion_tokens).toBeLessThanOrEqual(48);
      expect(g.token_ids).toHaveLength(g.completion_tokens);
      expect(g.tokens_per_s).toBeGreaterThan(0);
      expect(g.phases_ms.forward_per_layer).toBeGreaterThan(0);
      expect(g.phases_ms.load_safe_tensor).toBeGreaterThan(0);
    }
    expect(p0.generation.prompt_tokens).toBe(271);
    expect(doc.summary.generation).toMatchObject({ samples: 2, generated_tokens: 96 });
    expect(doc.summary).toMatchObject({ problems: 3, samples: 3, error: 1 });
    expect(doc.model.name).toBe('stories260K');
    expect(doc.engine.backend).toBeTruthy();
    // The report says what generated the completions, from the document alone.
    const report = humanevalReport(HumanevalResultSchema.parse(doc));
    expect(report.header[0]).toBe('HumanEval.jsonl.gz · stories260K · greedy, up to 48 new tokens · base prompts · 3 problems, 3 samples');
    expect(report.tables.map((t) => t.title)).toEqual(['Results', 'Generation (2 generations)', 'Engine phases, summed over all generations (ms)', 'Why samples did not pass (most common)']);
  });

  it('an engine crash fails its problem only: the run goes on in a fresh engine process', async () => {
    process.env.RABBIT_BENCH_FAULT = 'abort';
    let r;
    try {
      r = await humaneval(['--dataset', HUMANEVAL, '--model', STORIES_DIR, '--problems', 'HumanEval/0,HumanEval/2', '--max-new-tokens', '8', '--out', tempDir(), '--json']);
    } finally {
      delete process.env.RABBIT_BENCH_FAULT;
    }
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.records.map((x: { status: string }) => x.status)).toEqual(['error', 'error']);
    for (const rec of doc.records) expect(rec.error).toMatch(/^engine: the engine process crashed \(SIGABRT\)/);
    expect(readFileSync(doc.records_file, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('a generation past --generation-timeout is recorded as a timeout, and the engine restarts for the next sample', async () => {
    // Each step then spins for 2000x its own time: a decode of 40 tokens takes far longer than 1.5 s.
    process.env.RABBIT_BENCH_SLOWDOWN_PERCENT = '200000';
    let r;
    const started = Date.now();
    try {
      r = await humaneval(['--dataset', HUMANEVAL, '--model', STORIES_DIR, '--problems', 'HumanEval/0,HumanEval/2', '--max-new-tokens', '40',
        '--generation-timeout', '1.5', '--out', tempDir(), '--json']);
    } finally {
      delete process.env.RABBIT_BENCH_SLOWDOWN_PERCENT;
    }
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.records.map((x: { status: string }) => x.status)).toEqual(['timeout', 'timeout']);
    for (const rec of doc.records) expect(rec.error).toBe('engine: generation did not finish within 1.5 s; the engine process was killed');
    expect(doc.summary.timeout).toBe(2);
    expect(Date.now() - started).toBeLessThan(30_000);
    const bad = await humaneval(['--dataset', HUMANEVAL, '--model', STORIES_DIR, '--limit', '1', '--generation-timeout', '0', '--out', tempDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--generation-timeout must be > 0/);
  });

  it('--chat prompts through the chat template, and refuses a model without one before any work', async () => {
    const bare = await humaneval(['--dataset', HUMANEVAL, '--model', STORIES_DIR, '--chat', '--limit', '1', '--out', tempDir()]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/no chat_template/);
    const model = tempDir();
    for (const f of readdirSync(STORIES_DIR)) copyFileSync(join(STORIES_DIR, f), join(model, f));
    const config = JSON.parse(readFileSync(join(STORIES_DIR, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: CHAT_TEMPLATE }));
    const r = await humaneval(['--dataset', HUMANEVAL, '--model', model, '--chat', '--problems', 'HumanEval/2', '--max-new-tokens', '8', '--out', tempDir(), '--json']);
    expect(r.code).toBe(0);
    const [rec] = JSON.parse(r.stdout).records;
    const tokenizer = await ModelTokenizer.load({ format: 'safetensors', dir: model });
    const prompt = loadProblems(HUMANEVAL, false).find((p) => p.task_id === 'HumanEval/2')!.prompt;
    expect(rec.generation.prompt_tokens).toBe((await encodePrompt(tokenizer, prompt, 'chat')).length);
    expect(rec.generation.prompt_tokens).toBeGreaterThan((await encodePrompt(tokenizer, prompt, 'base')).length);
  });

  it.skipIf(hfProblem !== undefined)(`greedy completions are identical to transformers', live and from the saved file${hfProblem ? ` (skipped: ${hfProblem})` : ''}`, async () => {
    const out = tempDir();
    const args = ['--dataset', HUMANEVAL, '--model', STORIES_DIR, '--problems', 'HumanEval/0,HumanEval/2,HumanEval/5', '--max-new-tokens', '64', '--out', out, '--json'];
    const live = await humaneval([...args, '--hf-compare']);
    expect(live.code).toBe(0);
    const doc = JSON.parse(live.stdout);
    expect(doc.summary.hf).toMatchObject({ compared: 3, identical: 3, diverged: [] });
    const saved = /saved transformers. completions to (\S+) /.exec(live.stderr)![1];
    expect(JSON.parse(readFileSync(saved, 'utf8')).cases[0].completion).toBe(doc.records[0].completion);
    const fromFile = await humaneval([...args, '--reference-completions', saved]);
    expect(JSON.parse(fromFile.stdout).summary.hf).toMatchObject({ compared: 3, identical: 3 });
    const other = await humaneval([...args.map((a) => (a === '64' ? '32' : a)), '--reference-completions', saved]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/max_new_tokens 64 \(this run: 32\)/);
  });
});
