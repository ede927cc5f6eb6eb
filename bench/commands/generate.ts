// `rabbit-bench generate`: one generation through the engine, text or one JSON document.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { InferenceEngine } from '../engine/engine.js';
import { formatTimings, generationReport, summarizeSteps, type GenerationDoc } from '../engine/summary.js';
import { collectEnvironment, runMetadata } from '../env/environment.js';
import { loadAddon } from '../engine/native.js';
import { render } from '../report/print.js';
import { modelInfo } from '../profile/model-info.js';
import { checkTracePath, chromeTrace, saveTrace } from '../trace/chrome-trace.js';
import { buildLoadPlan } from '../model/plan.js';
import { promptToIds } from '../prompt.js';
import { ModelTokenizer } from '../tokenizer.js';
import { engineOptions, newTokensOption, outputFormat, samplingOptions, withEngineOptions, withFormatOptions, withSamplingOptions } from './options.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return withFormatOptions(withSamplingOptions(withEngineOptions(y)))
    .option('prompt', { type: 'string', describe: 'prompt text (tokenized with the model tokenizer.json)' })
    .option('prompt-ids', { type: 'string', describe: 'prompt as comma-separated token ids' })
    .option('chat', { type: 'boolean', default: false, describe: 'wrap the prompt in the model chat template' })
    .option('system', { type: 'string', describe: 'system message for --chat' })
    .option('max-new-tokens', newTokensOption(32))
    .option('ignore-eos', { type: 'boolean', default: false, describe: 'generate exactly --max-new-tokens tokens' })
    .option('logits', { type: 'boolean', default: false, describe: 'with --json: include the logits at the last prompt position' })
    .option('trace', { type: 'string', describe: 'also write the timeline to this file (Chrome Trace Event Format: open it in ui.perfetto.dev or chrome://tracing)' });
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
  const format = outputFormat(a);
  if (a.trace !== undefined) checkTracePath(a.trace);
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
    // The terminal shows text as it is generated; the other formats print once, at the end.
    const streamer = format === 'table' && tokenizer ? textStreamer(tokenizer) : undefined;
    const result = await engine.generate(
      {
        promptIds,
        maxNewTokens: a.maxNewTokens,
        sampling: samplingOptions(a),
        stopOnEos: !a.ignoreEos,
        logits: a.logits ? 'prefill' : 'none',
        trace: a.trace !== undefined,
      },
      streamer ? (id) => streamer.push(id) : undefined,
    );
    const timings = summarizeSteps(result.steps, result.tokens.length);
    if (a.trace !== undefined) {
      const machine = (await collectEnvironment({ measure: false })).machine_fingerprint;
      const steps = result.steps;
      saveTrace(a.trace, chromeTrace([{ index: 0, warmup: false, steps }], { metadata: runMetadata(process.argv), machine, build: loadAddon().buildInfo(), backend: engine.backend, model: modelInfo(plan).name }));
    }
    // The spans went to the trace; the document keeps the records it always had.
    const steps = result.steps.map(({ spans: _spans, ...s }) => s);
    const doc: GenerationDoc = {
      prompt_ids: promptIds,
      tokens: result.tokens,
      text: tokenizer ? await tokenizer.decode(result.tokens) : null,
      stop_reason: result.stopReason,
      ...(a.logits ? { last_logits: Array.from(result.logits[0] ?? []) } : {}),
      timings: { ...timings, steps },
    };
    if (format !== 'table') {
      process.stdout.write(render(generationReport(doc), format));
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
