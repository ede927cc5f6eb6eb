// One sample after another: completions are produced in order (the engine runs one generation at
// a time) while up to `jobs` earlier completions execute in their sandboxes, and each sample's
// record is handed on the moment it is scored.
import type { Problem } from './dataset.js';
import type { Generation, HfComparison, SampleRecord } from './records.js';
import type { ExecOutcome } from './sandbox.js';

export interface Task {
  problem: Problem;
  sample: number;
}

/** A completion to execute, or the reason there is none (an engine error, a prompt too long). */
export type Produced =
  | { completion: string; generation: Generation | null; hf: HfComparison | null }
  | { error: string; status: 'error' | 'timeout'; generation: null; hf: null };

export interface PipelineOptions {
  tasks: Task[];
  jobs: number;
  produce(task: Task): Promise<Produced>;
  execute(problem: Problem, completion: string): Promise<ExecOutcome>;
  onRecord(record: SampleRecord): void;
}

const now = () => new Date().toISOString();

function errorRecord(task: Task, produced: Extract<Produced, { error: string }>): SampleRecord {
  return {
    type: 'sample', task_id: task.problem.task_id, sample: task.sample, status: produced.status, error: produced.error, completion: '',
    exec_ms: null, base: null, plus: null, survivors: 0, generation: null, hf: null, finished_at: now(),
  };
}

function scoredRecord(task: Task, produced: Exclude<Produced, { error: string }>, outcome: ExecOutcome): SampleRecord {
  return {
    type: 'sample', task_id: task.problem.task_id, sample: task.sample, status: outcome.status, error: outcome.error,
    completion: produced.completion, exec_ms: outcome.exec_ms, base: outcome.base ?? null, plus: outcome.plus ?? null,
    survivors: outcome.survivors, generation: produced.generation, hf: produced.hf, finished_at: now(),
  };
}

export async function runPipeline(opts: PipelineOptions): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    for (const task of opts.tasks) {
      const produced = await opts.produce(task);
      if ('error' in produced) {
        opts.onRecord(errorRecord(task, produced));
        continue;
      }
      while (running.size >= opts.jobs) await Promise.race(running);
      if (failure) break;
      const scored: Promise<void> = opts
        .execute(task.problem, produced.completion)
        .then((outcome) => opts.onRecord(scoredRecord(task, produced, outcome)))
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => running.delete(scored));
      running.add(scored);
    }
  } finally {
    // Even when producing fails, the programs already running are seen through and recorded.
    await Promise.all(running);
  }
  // Only the harness's own faults land here (a records file that cannot be written); a problem's
  // failures are in its record.
  if (failure) throw failure.error;
}
