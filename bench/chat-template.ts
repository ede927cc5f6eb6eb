// A chat template is Jinja code from a model's files: `range(10**9)` would take the process down
// (V8's heap limit is fatal) and nested loops would hang it. It renders in a worker thread with
// its own heap limit and a deadline, and either limit is a clear error, not a crash.
import { Worker } from 'node:worker_threads';
import { ModelError } from './errors.js';
import { compiledScript } from './paths.js';

/** Real templates render in milliseconds, within a few MiB. */
export const CHAT_TEMPLATE_LIMITS = { timeoutMs: 5000, heapMb: 256 };

export function renderChatTemplate(source: string, values: Record<string, unknown>, limits = CHAT_TEMPLATE_LIMITS): Promise<string> {
  const worker = new Worker(compiledScript(import.meta.url, 'chat-template-worker.js'), {
    workerData: { source, values },
    resourceLimits: { maxOldGenerationSizeMb: limits.heapMb, maxYoungGenerationSizeMb: 16 },
  });
  return new Promise<string>((resolve, reject) => {
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      worker.removeAllListeners();
      void worker.terminate();
      outcome();
    };
    const fail = (why: string) => settle(() => reject(new ModelError(`the chat template ${why}`)));
    const timer = setTimeout(() => fail(`did not finish rendering within ${limits.timeoutMs / 1000} s`), limits.timeoutMs);
    worker.on('message', (m: { text?: string; error?: string }) => {
      if (m.text !== undefined) settle(() => resolve(m.text!));
      else fail(`cannot be rendered: ${(m.error ?? 'unknown error').slice(0, 300)}`);
    });
    worker.on('error', (err: NodeJS.ErrnoException) => {
      fail(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `needed more than ${limits.heapMb} MiB of memory to render` : `cannot be rendered: ${err.message.slice(0, 300)}`);
    });
    worker.on('exit', (code) => fail(`renderer exited (code ${code}) without a result`));
  });
}
