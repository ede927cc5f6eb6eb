// Hugging Face transformers' greedy completions for the same prompt ids (scripts/hf_humaneval.py),
// from a file or live, and their comparison with the engine's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeNewFiles } from '../results/files.js';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import type { ModelSource } from '../model/resolve.js';
import { repoRoot } from '../paths.js';
import { pythonProblem } from '../reference/live.js';
import { STOP_SEQUENCES, type PromptStyle } from './completion.js';
import type { HfComparison } from './records.js';

const HF_SCHEMA = 'rabbit-bench/hf-humaneval@1';

const HfCaseSchema = z.object({
  task_id: z.string(),
  prompt_ids: z.array(z.number().int()),
  tokens: z.array(z.number().int()),
  stop_reason: z.enum(['stop_sequence', 'eos', 'max_new_tokens']),
  completion: z.string(),
});

const HfFileSchema = z.object({
  schema: z.literal(HF_SCHEMA),
  model: z.string(),
  transformers_version: z.string(),
  torch_version: z.string(),
  max_new_tokens: z.number().int(),
  style: z.enum(['base', 'chat']),
  stop: z.array(z.string()),
  eos_token_ids: z.array(z.number().int()),
  cases: z.array(HfCaseSchema),
});

export type HfFile = z.infer<typeof HfFileSchema>;
export type HfCase = z.infer<typeof HfCaseSchema>;

export interface HfRequest {
  maxNewTokens: number;
  style: PromptStyle;
  eosTokenIds: number[];
}

export function readHfFile(path: string, expect: HfRequest): HfFile {
  let parsed;
  try {
    parsed = HfFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (!parsed.success) throw new UserError(`${path} is not a ${HF_SCHEMA} file: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  const file = parsed.data;
  const mismatch = [
    file.max_new_tokens !== expect.maxNewTokens && `max_new_tokens ${file.max_new_tokens} (this run: ${expect.maxNewTokens})`,
    file.style !== expect.style && `prompt style ${file.style} (this run: ${expect.style})`,
    JSON.stringify(file.stop) !== JSON.stringify(STOP_SEQUENCES) && 'other stop sequences',
    JSON.stringify(file.eos_token_ids) !== JSON.stringify(expect.eosTokenIds) && `EOS ids ${file.eos_token_ids} (this run: ${expect.eosTokenIds})`,
  ].filter(Boolean);
  if (mismatch.length > 0) throw new UserError(`${path} was made with ${mismatch.join(', ')}`);
  return file;
}

/** Runs scripts/hf_humaneval.py; its progress goes straight to stderr. */
export function runHfHumaneval(opts: HfRequest & { python: string; source: ModelSource; cases: { task_id: string; prompt_ids: number[] }[]; threads?: number; saveIn: { dir: string; stem: string } }): { file: HfFile; saved: string } {
  const problem = pythonProblem(opts.python, opts.source.format);
  if (problem) throw new UserError(`${problem}; run scripts/setup-hf-venv.sh, pass --hf-python PATH, or give --reference-completions FILE`, 2);
  const work = mkdtempSync(join(tmpdir(), 'rb-hf-humaneval-'));
  try {
    const casesFile = join(work, 'cases.json');
    writeFileSync(casesFile, JSON.stringify({ max_new_tokens: opts.maxNewTokens, style: opts.style, stop: STOP_SEQUENCES, eos_token_ids: opts.eosTokenIds, cases: opts.cases }));
    const outFile = join(work, 'hf.json');
    const args = [join(repoRoot(), 'scripts', 'hf_humaneval.py'), '--model', opts.source.dir, '--cases', casesFile, '--out', outFile];
    if (opts.source.format === 'gguf') args.push('--gguf-file', basename(opts.source.file));
    if (opts.threads) args.push('--threads', String(opts.threads));
    // Spinning OpenMP workers make torch 50x slower when anything else wants the cores (measured
    // on 2 cores: 200 ms instead of 4 ms per stories260K step), as they do to the engine.
    const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'passive' };
    const run = spawnSync(opts.python, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (run.status !== 0) throw new UserError(`scripts/hf_humaneval.py failed (exit ${run.status ?? run.signal}); its messages are above`);
    const file = readHfFile(outFile, opts);
    return { file, saved: writeNewFiles(opts.saveIn.dir, opts.saveIn.stem, { json: readFileSync(outFile, 'utf8') }).json };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function compareWithHf(engine: { promptIds: number[]; tokens: number[] }, hf: HfCase | undefined): HfComparison {
  if (!hf) return { identical: false, first_divergence: null, engine_tokens: engine.tokens.length, hf_tokens: 0, note: 'no HF completion for this problem' };
  const base = { engine_tokens: engine.tokens.length, hf_tokens: hf.tokens.length };
  if (JSON.stringify(hf.prompt_ids) !== JSON.stringify(engine.promptIds)) {
    return { identical: false, first_divergence: null, ...base, note: 'the prompt ids differ' };
  }
  const n = Math.min(engine.tokens.length, hf.tokens.length);
  let i = 0;
  while (i < n && engine.tokens[i] === hf.tokens[i]) i++;
  const identical = i === n && engine.tokens.length === hf.tokens.length;
  return { identical, first_divergence: identical ? null : i, ...base, note: null };
}
