// Completions from the engine: tokenize the prompt, generate in the engine's own process, cut
// at the stop, and keep the timings and per-phase totals of that one generation.
import type { EngineOptions, SamplingOptions } from '../engine/engine.js';
import { UserError } from '../errors.js';
import { buildLoadPlan } from '../model/plan.js';
import { modelArgument } from '../model/resolve.js';
import type { LoadPlan } from '../model/types.js';
import type { PhaseTotals } from '../profile/phases.js';
import { ModelTokenizer } from '../tokenizer.js';
import { cutCompletion, encodePrompt, type PromptStyle } from './completion.js';
import type { Problem } from './dataset.js';
import { EngineProcess, GenerationTimeout, type EngineOutput } from './engine-process.js';
import type { Generation } from './records.js';

export interface GeneratorOptions {
  model: string;
  engine: EngineOptions;
  style: PromptStyle;
  maxNewTokens: number;
  sampling: SamplingOptions;
  generationTimeoutMs: number;
}

export type Generated =
  | { ok: true; promptIds: number[]; completion: string; generation: Generation }
  | { ok: false; promptIds: number[]; error: string; timedOut: boolean };

const ms = (ns: number) => ns / 1e6;

function phasesMs(t: PhaseTotals): Generation['phases_ms'] {
  return {
    ...(Object.fromEntries(Object.entries(t.phases).map(([k, v]) => [k, ms(v)])) as PhaseTotals['phases']),
    sampling: ms(t.sampling),
    unaccounted: ms(t.unaccounted),
    background_load: ms(t.backgroundLoad),
  };
}

export class EngineGenerator {
  private readonly prompts = new Map<string, number[]>();

  private constructor(
    readonly plan: LoadPlan,
    private readonly tokenizer: ModelTokenizer,
    private readonly engine: EngineProcess,
    private readonly options: GeneratorOptions,
  ) {}

  static async open(options: GeneratorOptions): Promise<EngineGenerator> {
    const plan = buildLoadPlan(options.model);
    const tokenizer = await ModelTokenizer.load(plan.source);
    // Before any work, not at the first problem.
    if (options.style === 'chat' && !tokenizer.hasChatTemplate) throw new UserError('--chat: this model has no chat_template in tokenizer_config.json');
    const engine = new EngineProcess(modelArgument(plan.source), options.engine);
    await engine.start();
    return new EngineGenerator(plan, tokenizer, engine, options);
  }

  get backend(): string {
    return this.engine.backend;
  }

  async promptIds(problem: Problem): Promise<number[]> {
    let ids = this.prompts.get(problem.task_id);
    if (!ids) {
      ids = await encodePrompt(this.tokenizer, problem.prompt, this.options.style);
      this.prompts.set(problem.task_id, ids);
    }
    return ids;
  }

  /** Whether the engine will take this prompt: it refuses one longer than max_position_embeddings. */
  async fits(problem: Problem): Promise<boolean> {
    return (await this.promptIds(problem)).length <= this.plan.spec.maxPositions;
  }

  /** Sample i is drawn with seed + i, so samples differ yet every run repeats them. */
  async generate(problem: Problem, sample: number, onToken: () => void): Promise<Generated> {
    const promptIds = await this.promptIds(problem);
    const max = this.plan.spec.maxPositions;
    if (promptIds.length > max) {
      return { ok: false, promptIds, timedOut: false, error: `not generated: the prompt has ${promptIds.length} tokens, more than the model's max_position_embeddings (${max})` };
    }
    let out: EngineOutput;
    try {
      const sampling = { ...this.options.sampling, seed: (this.options.sampling.seed ?? 0) + sample };
      out = await this.engine.generate({ promptIds, maxNewTokens: this.options.maxNewTokens, sampling }, onToken, this.options.generationTimeoutMs);
    } catch (err) {
      return { ok: false, promptIds, timedOut: err instanceof GenerationTimeout, error: `engine: ${(err as Error).message}` };
    }
    const cut = await cutCompletion(this.tokenizer, promptIds, out.tokens, this.options.style);
    const t = out.timings;
    return {
      ok: true,
      promptIds,
      completion: cut.text,
      generation: {
        prompt_tokens: promptIds.length,
        generated_tokens: out.tokens.length,
        completion_tokens: cut.tokens.length,
        token_ids: cut.tokens,
        stop_reason: cut.stopped ? 'stop_sequence' : out.stopReason,
        generation_ms: t.total_ms,
        tokens_per_s: t.total_ms > 0 ? out.tokens.length / (t.total_ms / 1000) : null,
        ttft_ms: t.ttft_ms,
        decode_tokens_per_s: t.decode_tokens_per_s,
        bytes_read: t.bytes_read,
        peak_rss_bytes: t.peak_rss_bytes,
        phases_ms: phasesMs(out.phases),
      },
    };
  }

  close(): void {
    this.engine.close();
  }
}
