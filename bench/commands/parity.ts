// `rabbit-bench parity`: the engine against a Hugging Face transformers reference, or against
// llama.cpp on the same GGUF file (--llama-cpp).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { InferenceEngine } from '../engine/engine.js';
import { UserError } from '../errors.js';
import { readJsonFile } from '../json-file.js';
import { buildLoadPlan } from '../model/plan.js';
import type { LoadPlan } from '../model/types.js';
import { F32_TOLERANCE, type ParityTolerance } from '../reference/compare.js';
import { PARITY_SCHEMA, parityReport, type ParityDoc } from '../reference/report.js';
import { runParity, type CaseResult } from '../reference/run-parity.js';
import { defaultPrompts } from '../reference/default-prompts.js';
import { defaultPython, runHfReference, type ReferencePrompt } from '../reference/live.js';
import { readReference, type ReferenceFile } from '../reference/reference-file.js';
import { checkReferenceWeights } from '../reference/weights-check.js';
import { ModelTokenizer } from '../tokenizer.js';
import { render } from '../report/print.js';
import { engineOptions, newTokensOption, outputFormat, withEngineOptions, withFormatOptions } from './options.js';
import { runCommand } from './run.js';
import { availableParallelism } from 'node:os';
import { llamaCppReference } from '../llama-cpp/run.js';
import { runLlamaCppParity, toleranceFor, type LlamaCppCaseResult } from '../llama-cpp/parity.js';

function builder(y: Argv) {
  return withFormatOptions(withEngineOptions(y))
    .option('reference', { type: 'string', describe: 'reference JSON written by scripts/hf_reference.py' })
    .option('python', { type: 'string', describe: 'Python with transformers, to make the reference live (default: .venv-hf if present)' })
    .option('prompts', { type: 'string', describe: 'prompts JSON for a live reference ([{"name","text"} | {"name","ids"}])' })
    .option('max-new-tokens', newTokensOption(24, 1, 'greedy tokens to compare (live reference)'))
    .option('min-cosine', { type: 'number', default: F32_TOLERANCE.minCosine })
    .option('max-rel-diff', { type: 'number', default: F32_TOLERANCE.maxRelAbsDiff, describe: 'max |Δ logit| as a fraction of max |reference logit|' })
    .option('llama-cpp', { type: 'boolean', describe: 'compare with llama.cpp (node-llama-cpp) on the same GGUF file: greedy tokens and the top 5 after the prompt' })
    .conflicts('reference', 'python')
    .conflicts('llama-cpp', ['reference', 'python']);
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

function promptsFor(a: Args, plan: LoadPlan): ReferencePrompt[] {
  return a.prompts ? (readJsonFile(a.prompts, 'prompts file') as ReferencePrompt[]) : defaultPrompts(ModelTokenizer.exists(plan.source), plan.spec.vocabSize);
}

async function obtainReference(a: Args, plan: LoadPlan): Promise<ReferenceFile> {
  if (a.reference) return readReference(a.reference);
  const python = a.python ?? defaultPython();
  if (!python) {
    throw new UserError('no reference: pass --reference FILE, or --python PATH to a Python with transformers (scripts/setup-hf-venv.sh makes one), or --llama-cpp for a GGUF file', 2);
  }
  return runHfReference({ python, source: plan.source, prompts: await ownTokenIds(promptsFor(a, plan), plan), maxNewTokens: a.maxNewTokens, threads: a.threads || undefined });
}

/**
 * A GGUF model's text prompts as this tool tokenizes them (transformers' GGUF tokenizer leaves out
 * the BOS that llama.cpp adds), so parity checks the ids `--prompt` really runs.
 */
async function ownTokenIds(prompts: ReferencePrompt[], plan: LoadPlan): Promise<ReferencePrompt[]> {
  if (plan.source.format !== 'gguf' || prompts.every((p) => 'ids' in p)) return prompts;
  const tokenizer = await ModelTokenizer.load(plan.source);
  const encoded = await Promise.all(prompts.map(async (p) => ('ids' in p ? p : { name: p.name, ids: await tokenizer.encode(p.text) })));
  // A placeholder vocabulary (test files) turns text into next to nothing: use id prompts instead.
  return encoded.some((p) => p.ids.length <= 1) ? defaultPrompts(false, plan.spec.vocabSize) : encoded;
}

async function llamaCppHandler(a: Args, plan: LoadPlan): Promise<number> {
  if (plan.source.format !== 'gguf') throw new UserError('--llama-cpp compares on the same GGUF file: pass a .gguf model (rabbit-bench quantize writes one)', 2);
  if (plan.source.parts.length > 1) throw new UserError('--llama-cpp: pass the first part of a split GGUF file as llama.cpp loads it; this comparison reads single files', 2);
  const prompts = await ownTokenIds(promptsFor(a, plan), plan);
  const cases = prompts.map((p) => {
    if (!('ids' in p)) throw new Error('prompts are token ids by now');
    return { name: p.name, prompt_ids: p.ids, max_new_tokens: a.maxNewTokens };
  });
  const reference = llamaCppReference({ model: plan.source.file, threads: a.threads || availableParallelism(), cases });
  const tol = toleranceFor(plan);
  const engine = InferenceEngine.open(plan, engineOptions(a));
  let results: LlamaCppCaseResult[];
  try {
    results = await runLlamaCppParity(reference, engine, tol);
  } finally {
    engine.close();
  }
  return printParity(a, { schema: PARITY_SCHEMA, model: plan.source.file, reference: { llama_cpp: reference.build }, tolerance: tol, cases: results, pass: results.every((r) => r.pass) });
}

async function handler(a: Args): Promise<number> {
  const plan = buildLoadPlan(a.model);
  for (const w of plan.warnings) process.stderr.write(`rabbit-bench: warning: ${w}\n`);
  if (a.llamaCpp) return llamaCppHandler(a, plan);
  const reference = await obtainReference(a, plan);
  const weights = checkReferenceWeights(reference, plan.files);
  if (weights.status === 'mismatch') {
    throw new UserError(`the reference was made from other weights (${weights.files.join(', ')} differ): regenerate it`, 2);
  }
  const tol: ParityTolerance = { ...F32_TOLERANCE, minCosine: a.minCosine, maxRelAbsDiff: a.maxRelDiff };
  const engine = InferenceEngine.open(plan, engineOptions(a));
  let results: CaseResult[];
  try {
    results = await runParity(reference, engine, tol);
  } finally {
    engine.close();
  }
  return printParity(a, {
    schema: PARITY_SCHEMA,
    model: plan.modelDir,
    reference: { transformers_version: reference.transformers_version, torch_version: reference.torch_version, attn_implementation: reference.attn_implementation },
    weights_check: weights,
    tolerance: tol,
    cases: results,
    pass: results.every((r) => r.pass),
  });
}

/** Exit 0 when every case passes, 1 otherwise. */
function printParity(a: Args, doc: ParityDoc): number {
  process.stdout.write(render(parityReport(doc), outputFormat(a)));
  return doc.pass ? 0 : 1;
}

export const parityCommand: CommandModule<object, Args> = {
  command: 'parity',
  describe: 'compare the engine with a Hugging Face transformers reference',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
