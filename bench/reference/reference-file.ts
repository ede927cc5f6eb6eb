// The HF reference file written by scripts/hf_reference.py, checked on read.
import { UserError } from '../errors.js';
import { readJsonFile } from '../json-file.js';

export const REFERENCE_SCHEMA = 'rabbit-bench/hf-reference@1';

export interface ReferenceCase {
  name: string;
  prompt_text: string | null;
  prompt_ids: number[];
  max_new_tokens: number;
  /** float32 logits at the last prompt position, as the shortest decimal that reads back exactly. */
  last_logits: number[];
  /** Exactly max_new_tokens greedy tokens (argmax, KV cache, no EOS stop). */
  greedy_tokens: number[];
  /** Top-1 minus top-2 logit at each greedy step: how safe comparing argmaxes is. */
  greedy_margins?: number[];
  timings?: { prefill_s: number; decode_s: number; decode_tokens: number; peak_rss_bytes: number };
}

export interface ReferenceFile {
  schema: string;
  model: string;
  model_files_sha256?: Record<string, string>;
  transformers_version: string;
  torch_version: string;
  dtype: string;
  attn_implementation: string;
  cases: ReferenceCase[];
}

function isIntArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x));
}

export function parseReference(json: unknown, source: string): ReferenceFile {
  const fail = (why: string): never => {
    throw new UserError(`${source} is not a valid HF reference file: ${why}`);
  };
  if (!json || typeof json !== 'object') fail('not a JSON object');
  const r = json as Partial<ReferenceFile>;
  if (r.schema !== REFERENCE_SCHEMA) fail(`schema is ${JSON.stringify(r.schema)}, expected "${REFERENCE_SCHEMA}"`);
  if (!Array.isArray(r.cases) || r.cases.length === 0) fail('it has no cases');
  r.cases!.forEach((c, i) => {
    const where = `case ${i} (${(c as ReferenceCase)?.name ?? 'unnamed'})`;
    if (!c || typeof c !== 'object') fail(`${where} is not an object`);
    if (typeof c.name !== 'string') fail(`${where} has no name`);
    if (!isIntArray(c.prompt_ids) || c.prompt_ids.length === 0) fail(`${where}: prompt_ids must be a non-empty array of ids`);
    if (!isIntArray(c.greedy_tokens)) fail(`${where}: greedy_tokens must be an array of ids`);
    if (!Array.isArray(c.last_logits) || !c.last_logits.every((x) => typeof x === 'number')) {
      fail(`${where}: last_logits must be an array of numbers`);
    }
    if (!Number.isInteger(c.max_new_tokens)) fail(`${where}: max_new_tokens must be an integer`);
  });
  return r as ReferenceFile;
}

export function readReference(path: string): ReferenceFile {
  return parseReference(readJsonFile(path, 'reference file'), path);
}
