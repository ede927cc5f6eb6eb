// Any saved result, back to its report: the document's `schema` tag names its kind, the kind's
// zod schema validates it, and the kind's own report function rebuilds what the command printed.
import type { z } from 'zod';
import { diffReport, gateReport } from '../compare/render.js';
import { DIFF_SCHEMA, DiffResultSchema, GATE_SCHEMA, GateResultSchema } from '../compare/schema.js';
import { CPU_VS_CUDA_SCHEMA, CpuVsCudaFileSchema, cpuVsCudaReport } from '../cuda/compare.js';
import { ENV_SCHEMA, EnvDocSchema, envReport } from '../env/report.js';
import { UserError } from '../errors.js';
import { humanevalReport } from '../humaneval/report.js';
import { HUMANEVAL_SCHEMA, HumanevalResultSchema } from '../humaneval/schema.js';
import { readJsonFile } from '../json-file.js';
import { MergedHumanevalSchema, MergedValidateSchema } from '../merge/merge.js';
import { mergeReport } from '../merge/report.js';
import { profileReport } from '../profile/render.js';
import type { Report } from '../report/report.js';
import { validateReport } from '../validate/render.js';
import { VALIDATE_SCHEMA, ValidateFileSchema } from '../validate/schema.js';
import { vsHfReport } from '../vs-hf/render.js';
import { VS_HF_SCHEMA, VsHfFileSchema } from '../vs-hf/schema.js';
import { vsLlamaCppReport } from '../vs-llama-cpp/bench.js';
import { VS_LLAMA_CPP_SCHEMA, VsLlamaCppFileSchema } from '../vs-llama-cpp/schema.js';
import { PROFILE_SCHEMA } from './profile-schema.js';
import { describeIssues, parseProfileFile } from './read.js';

interface ResultKind {
  /** Validates the document and builds its report. */
  report(doc: unknown, source: string): Report;
}

/** A kind whose document is checked by a zod schema and rendered by one report function. */
function kind<S extends z.ZodType>(schema: S, what: string, toReport: (doc: z.infer<S>) => Report): ResultKind {
  return {
    report(doc, source) {
      const parsed = schema.safeParse(doc);
      if (!parsed.success) throw new UserError(`${source} is not a valid rabbit-bench ${what} result: ${describeIssues(parsed.error)}`, 2);
      return toReport(parsed.data);
    },
  };
}

/** A run's result, or the same result merged from the shards of a run (`merge`), which `parts` marks. */
function mergeable(run: ResultKind, merged: ResultKind): ResultKind {
  return { report: (doc, source) => ((doc as { parts?: unknown }).parts !== undefined ? merged : run).report(doc, source) };
}

const KINDS: Record<string, ResultKind> = {
  [PROFILE_SCHEMA]: { report: (doc, source) => profileReport(parseProfileFile(doc, source)) },
  [DIFF_SCHEMA]: kind(DiffResultSchema, 'diff', diffReport),
  [GATE_SCHEMA]: kind(GateResultSchema, 'gate', gateReport),
  [VALIDATE_SCHEMA]: mergeable(kind(ValidateFileSchema, 'validate', validateReport), kind(MergedValidateSchema, 'merged validate', mergeReport)),
  [HUMANEVAL_SCHEMA]: mergeable(kind(HumanevalResultSchema, 'humaneval', humanevalReport), kind(MergedHumanevalSchema, 'merged humaneval', mergeReport)),
  [CPU_VS_CUDA_SCHEMA]: kind(CpuVsCudaFileSchema, 'cpu-vs-cuda', cpuVsCudaReport),
  [VS_HF_SCHEMA]: kind(VsHfFileSchema, 'bench:vs-hf', vsHfReport),
  [VS_LLAMA_CPP_SCHEMA]: kind(VsLlamaCppFileSchema, 'bench:vs-llama-cpp', vsLlamaCppReport),
  [ENV_SCHEMA]: kind(EnvDocSchema, 'env', envReport),
};

/** The schema tags `report` reads. */
export const REPORTABLE_SCHEMAS: readonly string[] = Object.keys(KINDS);

export function reportOfDocument(doc: unknown, source: string): Report {
  const tag = (doc as { schema?: unknown } | null)?.schema;
  if (typeof tag !== 'string') throw new UserError(`${source} is not a rabbit-bench result: it has no "schema" field`, 2);
  const k = KINDS[tag];
  if (!k) throw new UserError(`${source}: results of schema ${tag} have no report (reports exist for ${REPORTABLE_SCHEMAS.join(', ')})`, 2);
  return k.report(doc, source);
}

export function reportOfFile(path: string): Report {
  return reportOfDocument(readJsonFile(path, 'result file', (m) => new UserError(m, 2)), path);
}
