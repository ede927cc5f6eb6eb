// Runs scripts/hf_reference.py with a Python that has transformers, for live references.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { UserError } from '../errors.js';
import type { ModelSource } from '../model/resolve.js';
import { repoRoot } from '../paths.js';
import { readReference, type ReferenceFile } from './reference-file.js';

export type ReferencePrompt = { name: string; text: string } | { name: string; ids: number[] };

/** The venv that scripts/setup-hf-venv.sh makes, if it exists. */
export function defaultPython(): string | undefined {
  const venv = join(repoRoot(), '.venv-hf', 'bin', 'python');
  return existsSync(venv) ? venv : undefined;
}

/** Why `python` cannot produce references for this model format, or undefined when it can. */
export function pythonProblem(python: string, format: ModelSource['format'] = 'safetensors'): string | undefined {
  // transformers loads GGUF files only with the gguf and accelerate packages present.
  const modules = format === 'gguf' ? 'torch, transformers, safetensors, gguf, accelerate' : 'torch, transformers, safetensors';
  const probe = spawnSync(python, ['-c', `import ${modules}`], { encoding: 'utf8' });
  if (probe.error) return `cannot run ${python}: ${probe.error.message}`;
  if (probe.status !== 0) return `${python} lacks ${modules.replaceAll(', ', '/')} (${probe.stderr.trim().split('\n').pop()})`;
  return undefined;
}

export function runHfReference(opts: {
  python: string;
  source: ModelSource;
  prompts: ReferencePrompt[];
  maxNewTokens: number;
  threads?: number;
}): ReferenceFile {
  const problem = pythonProblem(opts.python, opts.source.format);
  if (problem) throw new UserError(`${problem}; run scripts/setup-hf-venv.sh or pass --reference FILE`, 2);
  const work = mkdtempSync(join(tmpdir(), 'rb-ref-'));
  try {
    const promptsFile = join(work, 'prompts.json');
    const outFile = join(work, 'reference.json');
    writeFileSync(promptsFile, JSON.stringify(opts.prompts));
    const args = [join(repoRoot(), 'scripts', 'hf_reference.py'), '--model', opts.source.dir, '--prompts', promptsFile,
      '--max-new-tokens', String(opts.maxNewTokens), '--out', outFile];
    if (opts.source.format === 'gguf') {
      if (opts.source.parts.length > 1) throw new UserError('transformers does not load split GGUF files: merge the parts first (llama-gguf-split --merge)', 2);
      args.push('--gguf-file', basename(opts.source.file));
    }
    if (opts.threads) args.push('--threads', String(opts.threads));
    const run = spawnSync(opts.python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (run.status !== 0) {
      throw new UserError(`the HF reference script failed (exit ${run.status}):\n${run.stderr.trim()}`);
    }
    return readReference(outFile);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
