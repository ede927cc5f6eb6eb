// A whole HumanEval run, independent of the command line: problems, the sandbox, where the
// completions come from, the records file (new or resumed), and the result document.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import type { EngineOptions, SamplingOptions } from '../engine/engine.js';
import { loadAddon } from '../engine/native.js';
import { collectEnvironment, runMetadata } from '../env/environment.js';
import { UserError } from '../errors.js';
import { modelArgument } from '../model/resolve.js';
import { modelInfo } from '../profile/model-info.js';
import { resultStem } from '../results/files.js';
import type { PromptStyle } from './completion.js';
import { loadProblems, selectProblems, type Problem } from './dataset.js';
import { inShard, shardLabel, type Shard } from '../shard.js';
import { sandboxJob } from './program.js';
import { EngineGenerator } from './generator.js';
import { compareWithHf, readHfFile, runHfHumaneval, type HfCase } from './hf.js';
import { runPipeline, type Produced, type Task } from './pipeline.js';
import { sampleProgress } from './progress.js';
import { RecordsFile, sampleKey, type SampleRecord } from './records.js';
import { killSandboxes, runInSandbox, type SandboxLimits } from './sandbox.js';
import { prepareSandbox } from './sandbox-probe.js';
import { readCompletions } from './samples.js';
import { HUMANEVAL_SCHEMA, type HumanevalResult, type HumanevalSettings } from './schema.js';
import { summarize } from './score.js';

export type { HumanevalResult } from './schema.js';
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export type CompletionSource =
  | { kind: 'engine'; model: string; engine: EngineOptions; style: PromptStyle; maxNewTokens: number; sampling: SamplingOptions; samples: number; generationTimeoutMs: number }
  | { kind: 'oracle' }
  | { kind: 'completions'; file: string };

export interface HumanevalRunOptions {
  dataset: string;
  plus: boolean;
  source: CompletionSource;
  ids?: string[];
  limit?: number;
  jobs: number;
  limits: SandboxLimits;
  execPython?: string;
  /** Compare the engine's greedy completions with transformers': run the script live, or read its output. */
  hf: { kind: 'live'; python: string; threads?: number } | { kind: 'file'; path: string } | null;
  resume?: string;
  /** This run's part of the samples (see shard.ts); null: all of them. */
  shard: Shard | null;
  outDir: string;
  progress: boolean;
  log(line: string): void;
}

/** A run's result: its records file is always there. */
export type HumanevalRun = HumanevalResult & { records_file: string };

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** What must not change between a run and its --resume: anything that changes the records. */
function runSettings(o: HumanevalRunOptions, datasetPath: string, modelDir: string | undefined): HumanevalSettings {
  const s = o.source;
  const l = o.limits;
  return {
    dataset: datasetPath,
    dataset_sha256: sha256(datasetPath),
    plus: o.plus,
    source: s.kind,
    completions_file: s.kind === 'completions' ? resolve(s.file) : undefined,
    completions_sha256: s.kind === 'completions' ? sha256(s.file) : undefined,
    model: modelDir,
    style: s.kind === 'engine' ? s.style : undefined,
    max_new_tokens: s.kind === 'engine' ? s.maxNewTokens : undefined,
    samples: s.kind === 'engine' ? s.samples : undefined,
    sampling: s.kind === 'engine' ? s.sampling : undefined,
    engine: s.kind === 'engine' ? s.engine : undefined,
    generation_timeout_ms: s.kind === 'engine' ? s.generationTimeoutMs : undefined,
    limits: { timeout_ms: l.timeoutMs, memory_bytes: l.memoryBytes, cpu_seconds: l.cpuSeconds, nproc: l.nproc, fsize_bytes: l.fsizeBytes, nofile: l.nofile },
    hf_compare: o.hf?.kind ?? null,
    shard: o.shard,
  };
}

function tasksFor(problems: Problem[], source: CompletionSource, completions: Map<string, string[]> | undefined, log: (l: string) => void): Task[] {
  if (source.kind === 'engine') return problems.flatMap((problem) => Array.from({ length: source.samples }, (_, sample) => ({ problem, sample })));
  if (source.kind === 'oracle') return problems.map((problem) => ({ problem, sample: 0 }));
  const missing = problems.filter((p) => !completions!.has(p.task_id));
  if (missing.length > 0) log(`rabbit-bench: warning: ${missing.length} selected problem(s) have no completion in ${source.file} and are not scored (first: ${missing[0].task_id})`);
  return problems.flatMap((problem) => (completions!.get(problem.task_id) ?? []).map((_, sample) => ({ problem, sample })));
}

async function hfCases(o: HumanevalRunOptions, generator: EngineGenerator, tasks: Task[], saveIn: { dir: string; stem: string }): Promise<Map<string, HfCase>> {
  const hf = o.hf!;
  const source = o.source as Extract<CompletionSource, { kind: 'engine' }>;
  const request = { maxNewTokens: source.maxNewTokens, style: source.style, eosTokenIds: generator.plan.spec.eosTokenIds };
  let file;
  if (hf.kind === 'file') {
    file = readHfFile(hf.path, request);
  } else {
    const cases = [];
    for (const { problem } of tasks) if (await generator.fits(problem)) cases.push({ task_id: problem.task_id, prompt_ids: await generator.promptIds(problem) });
    if (cases.length === 0) return new Map();
    o.log(`rabbit-bench: running transformers on ${cases.length} problem(s) for the comparison`);
    const ran = runHfHumaneval({ ...request, python: hf.python, source: generator.plan.source, cases, threads: hf.threads, saveIn });
    o.log(`rabbit-bench: saved transformers' completions to ${ran.saved} (reuse with --reference-completions)`);
    file = ran.file;
  }
  return new Map(file.cases.map((c) => [c.task_id, c]));
}

export async function runHumaneval(o: HumanevalRunOptions): Promise<HumanevalRun> {
  const started = performance.now();
  const metadata = runMetadata(process.argv);
  const datasetPath = resolve(o.dataset);
  const all = loadProblems(datasetPath, o.plus);
  const problems = selectProblems(all, { ids: o.ids, limit: o.limit });
  const completions = o.source.kind === 'completions' ? readCompletions(o.source.file) : undefined;

  const { setup, report: sandbox } = await prepareSandbox({ python: o.execPython, limits: o.limits, hide: [dirname(datasetPath), resolve(o.outDir)] });
  for (const w of sandbox.warnings) o.log(`rabbit-bench: sandbox: ${w}`);

  // The engine opens first: a model that cannot be used should not leave a records file behind.
  const generator = o.source.kind === 'engine' ? await openGenerator(o.source) : undefined;
  for (const w of generator?.plan.warnings ?? []) o.log(`rabbit-bench: warning: ${w}`);
  const settings = runSettings(o, datasetPath, generator ? modelArgument(generator.plan.source) : undefined);
  const modelName = `${generator ? basename(modelArgument(generator.plan.source), '.gguf') : o.source.kind}${o.shard ? `-${shardLabel(o.shard)}` : ''}`;
  let opened;
  try {
    opened = o.resume ? RecordsFile.resume(resolve(o.resume), settings, o.log) : { file: RecordsFile.create(resolve(o.outDir), resultStem('humaneval', modelName), settings), done: [] };
  } catch (err) {
    generator?.close();
    throw err;
  }
  const { file: records, done } = opened;
  const recordsPath = records.path;
  const finished = new Set(done.map((r) => sampleKey(r.task_id, r.sample)));
  const tasks = tasksFor(problems, o.source, completions, o.log)
    .filter((_, position) => inShard(position, o.shard))
    .filter((t) => !finished.has(sampleKey(t.problem.task_id, t.sample)));
  if (done.length > 0) o.log(`rabbit-bench: resuming ${recordsPath}: ${done.length} sample(s) done, ${tasks.length} to go`);

  const fresh: SampleRecord[] = [];
  const progress = sampleProgress(tasks.length, o.progress);
  // Ctrl-C or a scheduler's SIGTERM: no sandbox may outlive the run, and what was scored is kept.
  const interrupted = (signal: NodeJS.Signals) => {
    killSandboxes();
    progress.stop();
    generator?.close();
    records.close();
    o.log(`rabbit-bench: ${signal}: stopped; every sandbox was killed; ${done.length + fresh.length} sample(s) are recorded in ${recordsPath} (continue with --resume)`);
    process.exit(128 + osConstants.signals[signal]);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, interrupted);
  try {
    const hf = generator && o.hf ? await hfCases(o, generator, tasks, { dir: dirname(recordsPath), stem: resultStem('hf-humaneval', modelName) }) : undefined;
    const produce = async (task: Task): Promise<Produced> => {
      if (!generator) {
        const completion = o.source.kind === 'oracle' ? task.problem.canonical_solution : completions!.get(task.problem.task_id)![task.sample];
        return { completion, generation: null, hf: null };
      }
      const g = await generator.generate(task.problem, task.sample, () => progress.token());
      if (!g.ok) return { error: g.error, status: g.timedOut ? 'timeout' : 'error', generation: null, hf: null };
      const comparison = hf ? compareWithHf({ promptIds: g.promptIds, tokens: g.generation.token_ids }, hf.get(task.problem.task_id)) : null;
      return { completion: g.completion, generation: g.generation, hf: comparison };
    };
    await runPipeline({
      tasks,
      jobs: o.jobs,
      produce,
      execute: (problem, completion) => runInSandbox(setup, o.limits, sandboxJob(problem, completion)),
      onRecord: (r) => {
        records.append(r);
        fresh.push(r);
        progress.done(r.status === 'passed');
      },
    });
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, interrupted);
    progress.stop();
    generator?.close();
    records.close();
  }

  const order = new Map(all.map((p, i) => [p.task_id, i]));
  const recordsAll = [...done, ...fresh].sort((a, b) => order.get(a.task_id)! - order.get(b.task_id)! || a.sample - b.sample);
  const summary = summarize(recordsAll, { plus: o.plus, wallMs: performance.now() - started });
  return {
    schema: HUMANEVAL_SCHEMA,
    command: 'humaneval',
    created_at: new Date().toISOString(),
    metadata,
    environment: await collectEnvironment({ measure: false }),
    dataset: { path: datasetPath, sha256: settings.dataset_sha256, plus: o.plus, problems_selected: problems.length },
    model: generator ? modelInfo(generator.plan) : null,
    engine: generator ? { backend: generator.backend, build: { ...loadAddon().buildInfo() } } : null,
    settings,
    sandbox,
    records_file: recordsPath,
    summary,
    records: recordsAll,
  };
}

async function openGenerator(source: Extract<CompletionSource, { kind: 'engine' }>): Promise<EngineGenerator> {
  try {
    return await EngineGenerator.open(source);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot open the engine: ${(err as Error).message}`);
  }
}
