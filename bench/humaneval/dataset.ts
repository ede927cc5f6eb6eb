// HumanEval-format problems from JSONL or JSONL.GZ, validated line by line; HumanEval+ adds
// the EvalPlus test inputs, tolerance and input contracts.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { UserError } from '../errors.js';

const ProblemSchema = z.object({
  task_id: z.string().min(1),
  prompt: z.string(),
  canonical_solution: z.string(),
  test: z.string(),
  entry_point: z.string().min(1),
});

const PlusSchema = z.object({
  base_input: z.array(z.array(z.unknown())),
  plus_input: z.array(z.array(z.unknown())),
  atol: z.coerce.number(),
  contract: z.string().default(''),
});

export interface PlusTests {
  /**
   * The dataset line itself: Python reads the inputs from it, because a JavaScript round trip
   * would turn 1.0 into 1 and the float/int contracts and comparisons depend on the difference.
   */
  line: string;
  base_count: number;
  plus_count: number;
  atol: number;
  contract: string;
}

export type Problem = z.infer<typeof ProblemSchema> & { plus?: PlusTests };

/** Lines of a JSONL file, gunzipped when it starts with the gzip magic bytes. */
function readJsonlText(path: string): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const text = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  return text.split('\n');
}

/** Parses every non-blank line with `schema`, naming the file and line of the first bad one. */
export function parseJsonl<T>(path: string, schema: z.ZodType<T>): { value: T; line: string }[] {
  const out: { value: T; line: string }[] = [];
  readJsonlText(path).forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new UserError(`${path}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new UserError(`${path}:${i + 1}: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
    out.push({ value: parsed.data, line });
  });
  return out;
}

export function loadProblems(path: string, plus: boolean): Problem[] {
  const schema = plus ? ProblemSchema.extend(PlusSchema.shape) : ProblemSchema;
  let rows: { value: z.infer<typeof ProblemSchema> & Partial<z.infer<typeof PlusSchema>>; line: string }[];
  try {
    rows = parseJsonl(path, schema);
  } catch (err) {
    if (plus && err instanceof UserError && /base_input|plus_input/.test(err.message)) {
      throw new UserError(`${err.message}\n--plus needs a HumanEval+ dataset (HumanEvalPlus.jsonl.gz from EvalPlus) with base_input and plus_input`);
    }
    throw err;
  }
  if (rows.length === 0) throw new UserError(`${path} holds no problems`);
  const seen = new Set<string>();
  return rows.map(({ value, line }) => {
    if (seen.has(value.task_id)) throw new UserError(`${path}: task_id ${value.task_id} appears twice`);
    seen.add(value.task_id);
    const { base_input, plus_input, atol, contract, ...problem } = value;
    if (!plus) return problem;
    return { ...problem, plus: { line, base_count: base_input!.length, plus_count: plus_input!.length, atol: atol!, contract: contract ?? '' } };
  });
}

/** `--problems` (in the order given) or the dataset order, then `--limit`. */
export function selectProblems(problems: Problem[], opts: { ids?: string[]; limit?: number }): Problem[] {
  let chosen = problems;
  if (opts.ids) {
    const byId = new Map(problems.map((p) => [p.task_id, p]));
    const unknown = opts.ids.filter((id) => !byId.has(id));
    if (unknown.length > 0) throw new UserError(`--problems: not in the dataset: ${unknown.join(', ')}`);
    chosen = [...new Set(opts.ids)].map((id) => byId.get(id)!);
  }
  return opts.limit === undefined ? chosen : chosen.slice(0, opts.limit);
}
