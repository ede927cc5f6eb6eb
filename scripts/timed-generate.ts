// Child process of bench-timers: times whole generations from outside the engine, so the
// measurement works whether the engine's own timers are compiled in or not.
import { performance } from 'node:perf_hooks';
import { InferenceEngine } from '../bench/engine/engine.js';
import { loadAddon } from '../bench/engine/native.js';
import { buildLoadPlan } from '../bench/model/plan.js';

const [model, tokensArg, repsArg, resident] = process.argv.slice(2);
const plan = buildLoadPlan(model);
const engine = InferenceEngine.open(plan, { resident: resident === 'resident' });
const promptIds = Array.from({ length: 16 }, (_, i) => (i * 37 + 5) % plan.spec.vocabSize);
const run = () => engine.generate({ promptIds, maxNewTokens: Number(tokensArg), stopOnEos: false });
await run();
const walls: number[] = [];
for (let i = 0; i < Number(repsArg); i++) {
  const t0 = performance.now();
  await run();
  walls.push(performance.now() - t0);
}
engine.close();
process.stdout.write(`${JSON.stringify({ timers: loadAddon().buildInfo().timers, walls })}\n`);
