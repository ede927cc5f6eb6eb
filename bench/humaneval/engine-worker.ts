// The engine in a child process of its own (started by engine-process.ts): a native crash on
// one problem then costs that problem, not the run. argv: model, engine options as JSON.
import { InferenceEngine, type EngineOptions } from '../engine/engine.js';
import { summarizeSteps } from '../engine/summary.js';
import { buildLoadPlan } from '../model/plan.js';
import { stepTotals } from '../profile/phases.js';
import type { WorkerReply, WorkerRequest } from './engine-process.js';

const send = (reply: WorkerReply) => process.send?.(reply);

function main(): void {
  const [model, options] = process.argv.slice(2);
  let engine: InferenceEngine;
  try {
    engine = InferenceEngine.open(buildLoadPlan(model), JSON.parse(options) as EngineOptions);
  } catch (err) {
    send({ type: 'failed', message: (err as Error).message });
    process.disconnect?.();
    return;
  }
  send({ type: 'ready', backend: engine.backend });
  process.on('message', (req: WorkerRequest) => {
    engine
      .generate({ promptIds: req.promptIds, maxNewTokens: req.maxNewTokens, sampling: req.sampling, stopOnEos: true }, () => send({ type: 'token' }))
      .then((r) => send({ type: 'done', tokens: r.tokens, stopReason: r.stopReason, timings: summarizeSteps(r.steps, r.tokens.length), phases: stepTotals(r.steps) }))
      .catch((err: Error) => send({ type: 'failed', message: err.message }));
  });
  process.on('disconnect', () => engine.close());
}

main();
