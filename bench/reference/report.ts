// `rabbit-bench parity`'s result document and its report: each case's logits and greedy tokens
// against transformers' (or, with --llama-cpp, llama.cpp's), and the verdict.
import type { LlamaCppTolerance } from '../llama-cpp/compare.js';
import type { LlamaCppCaseResult } from '../llama-cpp/parity.js';
import type { LlamaCppBuild } from '../llama-cpp/schema.js';
import type { Report, ReportTable } from '../report/report.js';
import type { ParityTolerance } from './compare.js';
import type { ReferenceFile } from './reference-file.js';
import type { CaseResult } from './run-parity.js';
import type { WeightsCheck } from './weights-check.js';

export const PARITY_SCHEMA = 'rabbit-bench/parity@1';

/**
 * Against transformers. JSON has no NaN or Infinity: a non-finite metric reads back as null, and
 * `tolerance.minGreedyPrefix` (Infinity: every greedy token) as null.
 */
export interface HfParityDoc {
  schema: typeof PARITY_SCHEMA;
  model: string;
  reference: Pick<ReferenceFile, 'transformers_version' | 'torch_version' | 'attn_implementation'>;
  weights_check: WeightsCheck;
  tolerance: ParityTolerance;
  cases: CaseResult[];
  pass: boolean;
}

export interface LlamaCppParityDoc {
  schema: typeof PARITY_SCHEMA;
  model: string;
  reference: { llama_cpp: LlamaCppBuild };
  tolerance: LlamaCppTolerance;
  cases: LlamaCppCaseResult[];
  pass: boolean;
}

export type ParityDoc = HfParityDoc | LlamaCppParityDoc;

/** The same text for a metric in memory (NaN, Infinity) and read back from JSON (null). */
const finite = (x: number | null, show: (x: number) => string) => (x !== null && Number.isFinite(x) ? show(x) : 'non-finite');
const verdict = (pass: boolean) => (pass ? 'pass' : 'FAIL');

function hfTable(cases: CaseResult[]): ReportTable {
  return {
    title: 'Engine vs transformers, logits at the last prompt position and greedy tokens',
    head: ['case', 'prompt tok', 'cosine', 'max |Δ|', 'max |ref|', 'top-1', 'top-5', 'greedy', 'verdict'],
    rows: cases.map(({ name, prompt_tokens, metrics: m, pass }) => [
      name, String(prompt_tokens), finite(m.cosine, (x) => x.toFixed(8)), finite(m.maxAbsDiff, (x) => x.toExponential(2)),
      finite(m.maxAbsReference, (x) => x.toFixed(3)), m.top1Match ? 'same' : 'DIFF', `${m.top5Overlap}/5`, `${m.greedyPrefix}/${m.greedyLength}`, verdict(pass),
    ]),
  };
}

function llamaCppTable(cases: LlamaCppCaseResult[]): ReportTable {
  return {
    title: "Engine vs llama.cpp, llama.cpp's top 5 after the prompt and greedy tokens",
    head: ['case', 'prompt tok', 'top-1', 'top-5', 'max |Δp| top-5', 'greedy', 'verdict'],
    rows: cases.map(({ name, prompt_tokens, metrics: m, pass }) => [
      name, String(prompt_tokens), m.top1Match ? 'same' : 'DIFF', `${m.top5Overlap}/5`, finite(m.maxProbDiff, (x) => x.toExponential(2)),
      `${m.greedyPrefix}/${m.greedyLength}`, verdict(pass),
    ]),
  };
}

function isLlamaCpp(doc: ParityDoc): doc is LlamaCppParityDoc {
  return 'llama_cpp' in doc.reference;
}

export function parityReport(doc: ParityDoc): Report {
  const failures = doc.cases.filter((c) => !c.pass).map((c) => `${c.name}: ${c.failures.join('; ')}`);
  const status = `parity ${doc.pass ? 'PASS' : 'FAIL'}`;
  if (isLlamaCpp(doc)) {
    const b = doc.reference.llama_cpp;
    const t = doc.tolerance;
    return {
      kind: 'parity',
      title: 'rabbit-bench parity --llama-cpp',
      header: [`model: ${doc.model}`, `tolerance: top-5 overlap ≥ ${t.minTop5Overlap}/5, max |Δp| ≤ ${t.maxProbDiff}, every greedy token`],
      tables: [llamaCppTable(doc.cases)],
      notes: [...failures, `${status} against llama.cpp ${b.llama_cpp_release} (node-llama-cpp ${b.node_llama_cpp}, ${b.build_type}, ${b.threads} threads)`],
      data: doc,
    };
  }
  const t = doc.tolerance;
  const greedy = t.minGreedyPrefix === null || !Number.isFinite(t.minGreedyPrefix) ? 'every greedy token' : `the first ${t.minGreedyPrefix} greedy tokens`;
  const w = doc.weights_check;
  return {
    kind: 'parity',
    title: 'rabbit-bench parity',
    header: [
      `model: ${doc.model}`,
      `reference: transformers ${doc.reference.transformers_version}, torch ${doc.reference.torch_version}, attention ${doc.reference.attn_implementation}`,
      `tolerance: cosine ≥ ${t.minCosine}, max |Δ| ≤ ${t.maxRelAbsDiff} × max |ref|, ${greedy}`,
    ],
    tables: [hfTable(doc.cases)],
    notes: [...failures, `${status} against transformers ${doc.reference.transformers_version}${w.status === 'skipped' ? ` (weights not verified: ${w.reason})` : ''}`],
    data: doc,
  };
}
