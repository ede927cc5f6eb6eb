// One cell of `rabbit-bench validate`, run as a child process so that a native crash or hang
// ends this process, never the matrix:
//
//   node dist/bench/validate/cell.js --model DIR --reference FILE --case NAME [--threads N]
//       [--min-cosine X] [--max-rel-diff X] [--llama-cpp-reference FILE]
//
// Loads the model, generates the reference case's greedy tokens, compares with the reference
// (as `parity` does), and with llama.cpp's answer for the same case when given one (as
// `parity --llama-cpp` does), and prints one JSON line (schema.ts CellOutputSchema) on stdout.
// Exit 0 pass, 1 fail, 2 error. Internal: the validate command is its only caller.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { InferenceEngine } from '../engine/engine.js';
import { summarizeSteps } from '../engine/summary.js';
import { UserError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { compareWithLlamaCpp, judgeLlamaCpp } from '../llama-cpp/compare.js';
import { toleranceFor } from '../llama-cpp/parity.js';
import { ReferenceReportSchema } from '../llama-cpp/schema.js';
import { buildLoadPlan } from '../model/plan.js';
import { compareWithReference, F32_TOLERANCE, judgeParity } from '../reference/compare.js';
import { readReference } from '../reference/reference-file.js';
import { HANG_ENV } from './faults.js';
import type { CellOutput } from './schema.js';


function hang(): never {
  // A grandchild proves the parent kills the whole process group, not just this process.
  spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  process.stderr.write('rabbit-bench: WARNING: validate cell hangs on purpose (test-only)\n');
  // Blocks the thread like a stuck native call: no timers, no signal handlers run.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  throw new Error('unreachable');
}

function numberOption(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UserError(`--${name} must be a number`, 2);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      reference: { type: 'string' },
      case: { type: 'string' },
      threads: { type: 'string' },
      'min-cosine': { type: 'string' },
      'max-rel-diff': { type: 'string' },
      'llama-cpp-reference': { type: 'string' },
    },
    strict: true,
  });
  if (!values.model || !values.reference || !values.case) throw new UserError('--model, --reference and --case are required', 2);
  const reference = readReference(values.reference);
  const c = reference.cases.find((x) => x.name === values.case);
  if (!c) throw new UserError(`${values.reference} has no case ${JSON.stringify(values.case)}`, 2);
  const tol = {
    ...F32_TOLERANCE,
    minCosine: numberOption(values['min-cosine'], 'min-cosine', F32_TOLERANCE.minCosine),
    maxRelAbsDiff: numberOption(values['max-rel-diff'], 'max-rel-diff', F32_TOLERANCE.maxRelAbsDiff),
  };

  const plan = buildLoadPlan(values.model);
  const engine = InferenceEngine.open(plan, { threads: numberOption(values.threads, 'threads', 0) });
  try {
    if (process.env[HANG_ENV] === '1') hang();
    const out = await engine.generate({ promptIds: c.prompt_ids, maxNewTokens: c.max_new_tokens, stopOnEos: false, logits: 'prefill', sampling: { greedy: true } });
    const metrics = compareWithReference(out.logits[0], c.last_logits, out.tokens, c.greedy_tokens);
    const verdict = judgeParity(metrics, tol);
    let llamaCpp: CellOutput['llama_cpp'] = null;
    if (values['llama-cpp-reference']) {
      const theirs = ReferenceReportSchema.parse(JSON.parse(readFileSync(values['llama-cpp-reference'], 'utf8')));
      const lc = theirs.cases.find((x) => x.name === c.name);
      if (!lc) throw new UserError(`${values['llama-cpp-reference']} has no case ${JSON.stringify(c.name)}`, 2);
      const lcMetrics = compareWithLlamaCpp(out.logits[0], out.tokens.slice(0, lc.greedy_tokens.length), lc);
      llamaCpp = { ...judgeLlamaCpp(lcMetrics, toleranceFor(plan)), metrics: lcMetrics };
    }
    const pass = verdict.pass && (llamaCpp?.pass ?? true);
    const result: CellOutput = {
      case: c.name,
      backend: engine.backend,
      prompt_tokens: c.prompt_ids.length,
      max_new_tokens: c.max_new_tokens,
      pass,
      failures: [...verdict.failures, ...(llamaCpp?.failures.map((f) => `llama.cpp: ${f}`) ?? [])],
      metrics,
      timings: summarizeSteps(out.steps, out.tokens.length),
      llama_cpp: llamaCpp,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return pass ? 0 : 1;
  } finally {
    engine.close();
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`rabbit-bench validate cell: error: ${(err as Error).message}\n`);
  process.exitCode = 2;
}
