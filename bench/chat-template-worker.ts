// Renders one chat template in a worker thread that chat-template.ts bounds in time and memory:
// a template is code from the model's files.
import { parentPort, workerData } from 'node:worker_threads';
import { Template } from '@huggingface/jinja';

const { source, values } = workerData as { source: string; values: Record<string, unknown> };
try {
  parentPort!.postMessage({ text: new Template(source).render(values) });
} catch (err) {
  parentPort!.postMessage({ error: (err as Error).message });
}
