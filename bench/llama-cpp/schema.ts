// What the llama.cpp child is asked and what it answers, validated on both sides of the pipe.
import { z } from 'zod';

const count = z.number().int().nonnegative();
const ids = z.array(count);

export const LLAMA_CPP_REPORT_SCHEMA = 'rabbit-bench/llama-cpp@1';

export const ReferenceJobSchema = z.object({
  kind: z.literal('reference'),
  model: z.string(),
  threads: z.number().int().positive(),
  cases: z.array(z.object({ name: z.string(), prompt_ids: ids.min(1), max_new_tokens: z.number().int().positive() })).min(1),
});

export const SpeedJobSchema = z.object({
  kind: z.literal('speed'),
  model: z.string(),
  threads: z.number().int().positive(),
  prompt_ids: ids.min(1),
  decode_tokens: z.number().int().positive(),
});

export const LlamaCppJobSchema = z.discriminatedUnion('kind', [ReferenceJobSchema, SpeedJobSchema]);
export type LlamaCppJob = z.infer<typeof LlamaCppJobSchema>;

/** Which llama.cpp ran: node-llama-cpp's version, the llama.cpp release it was built from, its CPU features. */
export const LlamaCppBuildSchema = z.object({
  node_llama_cpp: z.string(),
  llama_cpp_release: z.string(),
  llama_cpp_repo: z.string(),
  build_type: z.string(),
  system_info: z.string(),
  threads: z.number().int().positive(),
});
export type LlamaCppBuild = z.infer<typeof LlamaCppBuildSchema>;

const TopSchema = z.array(z.object({ id: count, p: z.number().min(0).max(1) }));

export const ReferenceReportSchema = z.object({
  schema: z.literal(LLAMA_CPP_REPORT_SCHEMA),
  kind: z.literal('reference'),
  build: LlamaCppBuildSchema,
  cases: z.array(z.object({
    name: z.string(),
    prompt_ids: ids,
    /** Greedy tokens (argmax, KV cache, no EOS stop), the first from the prefill. */
    greedy_tokens: ids,
    /** The five most probable next tokens after the prompt, with llama.cpp's probabilities (softmax of its logits). */
    top5: TopSchema,
  })),
});
export type ReferenceReport = z.infer<typeof ReferenceReportSchema>;

export const SpeedReportSchema = z.object({
  schema: z.literal(LLAMA_CPP_REPORT_SCHEMA),
  kind: z.literal('speed'),
  build: LlamaCppBuildSchema,
  prompt_tokens: count,
  decode_tokens: count,
  /** One llama_decode of the whole prompt (logits of the last position only), as llama-bench's pp test. */
  prefill_s: z.number().positive(),
  /** decode_tokens llama_decode calls of one token each, no sampling, as llama-bench's tg test. */
  decode_s: z.number().positive(),
  load_s: z.number().nonnegative(),
  peak_rss_bytes: z.number().positive(),
  cpu_s: z.number().nonnegative(),
});
export type SpeedReport = z.infer<typeof SpeedReportSchema>;
