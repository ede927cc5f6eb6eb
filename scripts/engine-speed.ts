// Child process of bench-vs-hf: one engine configuration on one model, in its own process so its
// peak RSS is its own. Warm-up first (the same prompt, one decode step): it loads the weights in
// resident mode and warms the page cache in streaming mode. Then one measured generation of
// exactly --decode-tokens decode steps after the prefill; prints one JSON report on stdout.
//
//   node dist/scripts/engine-speed.js --model DIR --mode resident|streaming --prompt-file IDS.json --decode-tokens N --threads N
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { InferenceEngine } from '../bench/engine/engine.js';
import { loadAddon } from '../bench/engine/native.js';
import { buildLoadPlan } from '../bench/model/plan.js';
import { engineSpeedReport } from '../bench/vs-hf/measurement.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    mode: { type: 'string' },
    'prompt-file': { type: 'string' },
    'decode-tokens': { type: 'string' },
    threads: { type: 'string' },
  },
  strict: true,
});
const mode = values.mode;
const decodeTokens = Number(values['decode-tokens']);
const threads = Number(values.threads);
if (!values.model || !values['prompt-file'] || (mode !== 'resident' && mode !== 'streaming') || !(decodeTokens >= 1) || !(threads >= 1)) {
  throw new Error('usage: engine-speed.js --model DIR --mode resident|streaming --prompt-file IDS.json --decode-tokens N --threads N');
}

const promptIds = JSON.parse(readFileSync(values['prompt-file'], 'utf8')) as number[];
const engine = InferenceEngine.open(buildLoadPlan(values.model), { resident: mode === 'resident', prefetch: true, threads });
const generate = (maxNewTokens: number) => engine.generate({ promptIds, maxNewTokens, stopOnEos: false });
try {
  await generate(2);
  const t0 = performance.now();
  // The first new token comes from the prefill; each further one is a decode step.
  const result = await generate(decodeTokens + 1);
  const generateWallS = (performance.now() - t0) / 1e3;
  const report = engineSpeedReport({
    mode,
    threads,
    build: loadAddon().buildInfo(),
    tokens: result.tokens,
    steps: result.steps,
    generateWallS,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    cpuS: (({ user, system }) => (user + system) / 1e6)(process.cpuUsage()),
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  engine.close();
}
