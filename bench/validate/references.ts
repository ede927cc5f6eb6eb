// Where each model's Hugging Face reference comes from: live transformers when a Python with it
// is available (once per model, in the parent), else the committed validate goldens.
import { existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '../errors.js';
import type { LoadPlan } from '../model/types.js';
import { repoRoot } from '../paths.js';
import { defaultPython, pythonProblem, runHfReference } from '../reference/live.js';
import { readReference } from '../reference/reference-file.js';
import { checkReferenceWeights } from '../reference/weights-check.js';
import type { ValidatePrompt } from './prompts.js';
import type { ModelEntry } from './schema.js';

/** Greedy tokens per case in the goldens, and the default for live references. */
export const VALIDATE_NEW_TOKENS = 16;
export const REGENERATE_VALIDATE_GOLDENS = 'npx tsc -p tsconfig.json && node dist/scripts/make-validate-goldens.js';

export function validateGoldenDir(): string {
  return join(repoRoot(), 'test', 'golden', 'validate');
}

export function validateGoldenPath(model: string, dir = validateGoldenDir()): string {
  return join(dir, `${model}.json`);
}

export interface ReferenceMode {
  mode: 'live' | 'golden';
  python: string | null;
  /** Why golden (no Python, --no-live), or null. */
  note: string | null;
}

export function chooseReferenceMode(live: boolean, python: string | undefined): ReferenceMode {
  if (!live) return { mode: 'golden', python: null, note: 'live HF references turned off (--no-live)' };
  const chosen = python ?? defaultPython();
  if (!chosen) return { mode: 'golden', python: null, note: 'no Python with transformers (no .venv-hf; pass --python PATH)' };
  const problem = pythonProblem(chosen);
  if (problem) {
    if (python) throw new UserError(`--python: ${problem}`, 2);
    return { mode: 'golden', python: null, note: problem };
  }
  return { mode: 'live', python: chosen, note: null };
}

export type ModelReference = ModelEntry['reference'] & { problem: string | null };

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

export function obtainReference(opts: {
  name: string;
  plan: LoadPlan;
  prompts: ValidatePrompt[];
  mode: ReferenceMode;
  maxNewTokens: number;
  threads: number;
  workDir: string;
}): ModelReference {
  let liveNote = opts.mode.note;
  if (opts.mode.mode === 'live' && opts.mode.python) {
    try {
      const reference = runHfReference({
        python: opts.mode.python,
        source: opts.plan.source,
        prompts: opts.prompts.map((p) => ({ name: p.name, ids: p.ids })),
        maxNewTokens: opts.maxNewTokens,
        threads: opts.threads || undefined,
      });
      const file = join(opts.workDir, `${opts.name}.reference.json`);
      writeFileSync(file, JSON.stringify(reference));
      return { source: 'live', file, transformers_version: reference.transformers_version, note: null, problem: null };
    } catch (err) {
      // The first line says what failed; the script's last line says why (e.g. non-finite logits).
      const lines = (err as Error).message.trim().split('\n');
      liveNote = `live HF reference failed: ${lines.length > 1 ? `${lines[0]} ${lines[lines.length - 1]}` : lines[0]}`;
    }
  }

  const file = validateGoldenPath(opts.name);
  if (!existsSync(file)) {
    const why = `no reference: ${liveNote ?? 'no live HF reference'}, and no golden ${display(file)}`;
    // A live reference that failed is an error; a model nobody made a golden for is a skip.
    const failedLive = opts.mode.mode === 'live';
    return { source: 'none', file: null, transformers_version: null, note: why, problem: failedLive ? why : null };
  }
  const golden = readReference(file);
  const base = { source: 'golden' as const, file, transformers_version: golden.transformers_version, note: liveNote };
  const weights = checkReferenceWeights(golden, opts.plan.files);
  if (weights.status === 'mismatch') {
    return { ...base, problem: `golden ${display(file)} was made from other weights (${weights.files.join(', ')} differ): ${REGENERATE_VALIDATE_GOLDENS}` };
  }
  for (const p of opts.prompts) {
    const c = golden.cases.find((x) => x.name === p.name);
    if (!c || c.prompt_ids.length !== p.ids.length || c.prompt_ids.some((id, i) => id !== p.ids[i])) {
      return { ...base, problem: `golden ${display(file)} is stale: its ${p.name} prompt is not the validate prompt; ${REGENERATE_VALIDATE_GOLDENS}` };
    }
  }
  return { ...base, problem: null };
}
