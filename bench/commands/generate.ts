// `rabbit-bench generate`: one generation through the engine, text or one JSON document.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { InferenceEngine } from '../engine/engine.js';
import { formatTimings, summarizeSteps } from '../engine/summary.js';
import { buildLoadPlan } from '../model/plan.js';
import { promptToIds } from '../prompt.js';
import { ModelTokenizer } from '../tokenizer.js';
import { engineOptions, newTokensOption, samplingOptions, withEngineOptions, withSamplingOptions } from './options.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return withSamplingOptions(withEngineOptions(y))
    .option('prompt', { type: 'string', describe: 'prompt text (tokenized with the model tokenizer.json)' })
    .option('prompt-ids', { type: 'string', describe: 'prompt as comma-separated token ids' })
    .option('chat', { type: 'boolean', default: false, describe: 'wrap the prompt in the model chat template' })
    .option('system', { type: 'string', describe: 'system message for --chat' })
    .option('max-new-tokens', newTokensOption(32))
    .option('ignore-eos', { type: 'boolean', default: false, describe: 'generate exactly --max-new-tokens tokens' })
    .option('json', { type: 'boolean', default: false, describe: 'print exactly one JSON object on stdout' })
    .option('logits', { type: 'boolean', default: false, describe: 'with --json: include the logits at the last prompt position' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

/** Streams decoded text as tokens arrive, holding back an incomplete UTF-8 sequence. */
function textStreamer(tokenizer: ModelTokenizer) {
  const ids: number[] = [];
  let printed = '';
  let chain = Promise.resolve();
  return {
    push(id: number) {
      ids.push(id);
      const snapshot = ids.slice();
      chain = chain.then(async () => {
        const text = await tokenizer.decode(snapshot);
        if (text.endsWith('\uFFFD') || !text.startsWith(printed)) return;
        process.stdout.write(text.slice(printed.length));
        printed = text;
      });
    },
    async finish(all: number[]) {
      await chain;
      const text = await tokenizer.decode(all);
      if (text.startsWith(printed)) process.stdout.write(text.slice(printed.length));
      process.stdout.write('\n');
    },
  };
}

async function handler(a: Args): Promise<number> {
  const plan = buildLoadPlan(a.model);
  for (const w of plan.warnings) process.stderr.write(`rabbit-bench: warning: ${w}\n`);
  const promptIds = await promptToIds({ prompt: a.prompt, promptIds: a.promptIds, chat: a.chat, system: a.system }, plan.source, plan.spec.vocabSize);
  const tokenizer = ModelTokenizer.exists(plan.source) ? await ModelTokenizer.load(plan.source) : undefined;
  if (promptIds.length + a.maxNewTokens > plan.spec.maxPositions) {
    process.stderr.write(`rabbit-bench: warning: ${promptIds.length} prompt + ${a.maxNewTokens} new tokens exceed ` +
      `max_position_embeddings (${plan.spec.maxPositions}); as in transformers, later tokens are past the trained context\n`);
  }
  const engine = InferenceEngine.open(plan, engineOptions(a));
  try {
    const streamer = !a.json && tokenizer ? textStreamer(tokenizer) : undefined;
    const result = await engine.generate(
      {
        promptIds,
        maxNewTokens: a.maxNewTokens,
        sampling: samplingOptions(a),
        stopOnEos: !a.ignoreEos,
        logits: a.logits ? 'prefill' : 'none',
      },
      streamer ? (id) => streamer.push(id) : undefined,
    );
    const timings = summarizeSteps(result.steps, result.tokens.length);
    if (a.json) {
      const doc: Record<string, unknown> = {
        prompt_ids: promptIds,
        tokens: result.tokens,
        text: tokenizer ? await tokenizer.decode(result.tokens) : null,
        stop_reason: result.stopReason,
      };
      if (a.logits) doc.last_logits = Array.from(result.logits[0] ?? []);
      doc.timings = { ...timings, steps: result.steps };
      process.stdout.write(`${JSON.stringify(doc)}\n`);
    } else {
      if (streamer) await streamer.finish(result.tokens);
      else process.stdout.write(`${result.tokens.join(',')}\n`);
      process.stderr.write(`${formatTimings(timings)} · stop: ${result.stopReason}\n`);
    }
    return 0;
  } finally {
    engine.close();
  }
}

export const generateCommand: CommandModule<object, Args> = {
  command: 'generate',
  describe: 'generate text with the layer-streaming engine',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
