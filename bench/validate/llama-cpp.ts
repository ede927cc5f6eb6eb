// validate --llama-cpp: llama.cpp's answers to a model's validate cases, obtained once per model in
// the parent (as the HF reference is), for its cells to compare with as `parity --llama-cpp` does.
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { locateLlamaCpp } from '../llama-cpp/locate.js';
import { llamaCppReference } from '../llama-cpp/run.js';
import type { LoadPlan } from '../model/types.js';
import { readReference } from '../reference/reference-file.js';
import type { ModelEntry } from './schema.js';

export type LlamaCppReference = NonNullable<ModelEntry['llama_cpp']> & {
  /** The reference file for the cells; null when there is none (`note` says why). */
  file: string | null;
};

const none = (note: string): LlamaCppReference => ({ file: null, build: null, note });

/** The same prompts, ids and greedy lengths as the model's HF reference. */
export function obtainLlamaCppReference(opts: {
  name: string;
  plan: LoadPlan;
  hfReferenceFile: string | null;
  threads: number;
  workDir: string;
}): LlamaCppReference {
  const { source } = opts.plan;
  if (source.format !== 'gguf') return none('not a GGUF file: llama.cpp reads GGUF only');
  if (source.parts.length > 1) return none('a split GGUF file: the llama.cpp comparison reads single files');
  if (!opts.hfReferenceFile) return none('no HF reference, so no cell runs');
  const where = locateLlamaCpp();
  if (!where.found) return none(where.reason);
  const cases = readReference(opts.hfReferenceFile).cases.map((c) => ({ name: c.name, prompt_ids: c.prompt_ids, max_new_tokens: c.max_new_tokens }));
  try {
    const reference = llamaCppReference({ model: source.file, threads: opts.threads || availableParallelism(), cases });
    const file = join(opts.workDir, `${opts.name}.llama-cpp.json`);
    writeFileSync(file, JSON.stringify(reference));
    const b = reference.build;
    return { file, build: `llama.cpp ${b.llama_cpp_release} (node-llama-cpp ${b.node_llama_cpp}, ${b.build_type})`, note: null };
  } catch (err) {
    return none(`llama.cpp failed: ${(err as Error).message.trim().split('\n')[0]}`);
  }
}
