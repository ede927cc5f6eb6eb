// The upstream-update validation matrix: model × prompt length × device, each cell in a child
// process (run-cell.ts), judged against the HF reference and timed against a baseline.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from '../engine/native.js';
import { collectEnvironment, runMetadata, type EnvironmentReport } from '../env/environment.js';
import { UserError } from '../errors.js';
import { inShard, type Shard } from '../shard.js';
import { modelArgument } from '../model/resolve.js';
import { applyBaseline, readValidateFile } from './baseline.js';
import { cellEnv } from './faults.js';
import { obtainLlamaCppReference, type LlamaCppReference } from './llama-cpp.js';
import { resolveModels, type ModelTarget } from './models.js';
import { LONG_PROMPT_TOKENS, SHORT_PROMPT_TOKENS, validatePrompt, type ValidatePrompt } from './prompts.js';
import { chooseReferenceMode, obtainReference, type ModelReference } from './references.js';
import { runCellProcess } from './run-cell.js';
import { VALIDATE_SCHEMA, type Cell, type Device, type ModelEntry, type PromptKind, type ValidateFile } from './schema.js';

export interface ValidateOptions {
  /** Fixture names (all four architectures by default). */
  fixtures: string[];
  /** Further model folders or Hub repo ids. */
  models: string[];
  devices: Device[];
  prompts: PromptKind[];
  live: boolean;
  python?: string;
  /** Compare GGUF models with llama.cpp too. */
  llamaCpp: boolean;
  maxNewTokens: number;
  cellTimeoutS: number;
  threads: number;
  minCosine: number;
  maxRelDiff: number;
  /** cell id → fault (test-only). */
  injectFaults: Map<string, string>;
  baseline?: string;
  perfThresholdPct: number;
  failOnPerf: boolean;
  allowSkips: boolean;
  /** This run's part of the cells (see shard.ts); null: all of them. */
  shard: Shard | null;
  argv: string[];
  startedAt?: Date;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

export const cellId = (model: string, prompt: PromptKind, device: Device) => `${model}/${prompt}/${device}`;

function backendsOrProblem(): string[] | string {
  try {
    return loadAddon().buildInfo().backends;
  } catch (err) {
    return (err as Error).message;
  }
}

function deviceProblem(device: Device, backends: string[] | string): string | null {
  if (typeof backends === 'string') return `the engine cannot be loaded: ${backends}`;
  if (device === 'cpu') return backends.includes('cpu') ? null : 'this build has no CPU backend';
  return backends.includes('cuda') ? 'the engine wrapper cannot select the CUDA backend yet' : 'this build has no CUDA backend';
}

interface Prepared {
  target: ModelTarget;
  prompts: ValidatePrompt[];
  reference: ModelReference;
  llamaCpp: LlamaCppReference | null;
}

function modelEntry(p: Prepared): ModelEntry {
  const { target, prompts, reference, llamaCpp } = p;
  const { problem, ...ref } = reference;
  return {
    name: target.name,
    source: target.source,
    fixture: target.fixture,
    dir: target.plan?.modelDir ?? null,
    architecture: target.plan?.spec.architecture ?? null,
    dtype: target.plan?.spec.dtype ?? null,
    max_positions: target.plan?.spec.maxPositions ?? null,
    prompts: prompts.map((x) => ({ name: x.name, tokens: x.ids.length, note: x.note })),
    reference: ref,
    problem: target.problem ?? problem,
    llama_cpp: llamaCpp && { build: llamaCpp.build, note: llamaCpp.note },
  };
}

function blankCell(model: string, prompt: PromptKind, device: Device): Cell {
  return {
    id: cellId(model, prompt, device), model, prompt, device,
    status: 'error', reason: null, failures: [], prompt_tokens: null, max_new_tokens: null,
    metrics: null, timings: null, perf: null, process: null, fault: null, llama_cpp: null,
  };
}

export async function runValidate(o: ValidateOptions): Promise<ValidateFile> {
  const startedAt = o.startedAt ?? new Date();
  if (!(o.cellTimeoutS > 0)) throw new UserError('--cell-timeout must be > 0 seconds', 2);
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new UserError('--max-new-tokens must be a whole number >= 1', 2);
  if (!Number.isInteger(o.threads) || o.threads < 0) throw new UserError('--threads must be a whole number >= 0', 2);
  if (o.devices.length === 0 || o.prompts.length === 0) throw new UserError('--devices and --prompts must not be empty', 2);
  const baseline = o.baseline ? readValidateFile(o.baseline) : undefined;

  const targets = resolveModels(o.fixtures, o.models);
  if (targets.length === 0) throw new UserError('no models: --fixtures none and no --models', 2);
  const ids = targets.flatMap((t) => o.prompts.flatMap((p) => o.devices.map((d) => cellId(t.name, p, d))));
  for (const id of o.injectFaults.keys()) {
    if (!ids.includes(id)) throw new UserError(`--inject-fault: no cell ${id} in this matrix (cells: ${ids.join(', ')})`, 2);
  }
  // Cells of this shard; references are prepared only for the models that have one.
  const mine = new Set(ids.filter((_, position) => inShard(position, o.shard)));
  const globalFault = process.env.RABBIT_BENCH_FAULT || null;
  if (globalFault) o.log(`validate: WARNING: RABBIT_BENCH_FAULT=${globalFault} breaks every cell on purpose (test-only)`);

  const backends = backendsOrProblem();
  // No HF run for cells that cannot run anyway (e.g. --devices cuda on a CPU-only build).
  const mode = o.devices.some((d) => !deviceProblem(d, backends))
    ? chooseReferenceMode(o.live, o.python)
    : { mode: 'golden' as const, python: null, note: 'no device of this build can run the cells' };
  const workDir = mkdtempSync(join(tmpdir(), 'rb-validate-'));
  const cells: Cell[] = [];
  const prepared: Prepared[] = [];
  try {
    for (const target of targets.filter((t) => o.prompts.some((p) => o.devices.some((d) => mine.has(cellId(t.name, p, d)))))) {
      let prompts: ValidatePrompt[] = [];
      let reference: ModelReference = { source: 'none', file: null, transformers_version: null, note: null, problem: null };
      let llamaCpp: LlamaCppReference | null = null;
      if (target.plan) {
        const plan = target.plan;
        try {
          prompts = await Promise.all(o.prompts.map((k) => validatePrompt(plan, k)));
          if (mode.mode === 'live') o.log(`validate: ${target.name}: HF reference (live transformers)…`);
          reference = obtainReference({ name: target.name, plan, prompts, mode, maxNewTokens: o.maxNewTokens, threads: o.threads, workDir });
        } catch (err) {
          reference = { ...reference, problem: `cannot prepare ${target.name}: ${(err as Error).message}` };
        }
        if (o.llamaCpp) {
          if (plan.source.format === 'gguf' && reference.file) o.log(`validate: ${target.name}: llama.cpp reference…`);
          llamaCpp = obtainLlamaCppReference({ name: target.name, plan, hfReferenceFile: reference.file, threads: o.threads, workDir });
        }
      }
      prepared.push({ target, prompts, reference, llamaCpp });
    }

    const total = mine.size;
    for (const { target, reference, llamaCpp } of prepared) {
      for (const prompt of o.prompts) {
        for (const device of o.devices) {
          if (!mine.has(cellId(target.name, prompt, device))) continue;
          const cell = blankCell(target.name, prompt, device);
          const injected = o.injectFaults.get(cell.id);
          cell.fault = injected ?? globalFault;
          const problem = target.problem ?? reference.problem;
          const unavailable = deviceProblem(device, backends);
          if (problem) {
            cell.status = 'error';
            cell.reason = problem;
          } else if (unavailable) {
            cell.status = 'unavailable';
            cell.reason = unavailable;
          } else if (!reference.file) {
            cell.status = 'skipped';
            cell.reason = reference.note ?? 'no reference';
          } else {
            const env = cellEnv(injected);
            const args = ['--model', modelArgument(target.plan!.source), '--reference', reference.file, '--case', prompt,
              '--threads', String(o.threads), '--min-cosine', String(o.minCosine), '--max-rel-diff', String(o.maxRelDiff),
              ...(llamaCpp?.file ? ['--llama-cpp-reference', llamaCpp.file] : [])];
            const run = await runCellProcess(args, env, o.cellTimeoutS * 1000);
            cell.status = run.status;
            cell.reason = run.reason;
            cell.failures = run.output?.failures ?? [];
            cell.prompt_tokens = run.output?.prompt_tokens ?? null;
            cell.max_new_tokens = run.output?.max_new_tokens ?? null;
            cell.metrics = run.output?.metrics ?? null;
            cell.timings = run.output?.timings ?? null;
            cell.llama_cpp = run.output?.llama_cpp ?? null;
            cell.process = { pid: run.pid, exit_code: run.exitCode, signal: run.signal, elapsed_ms: run.elapsedMs, stderr_tail: run.stderrTail };
          }
          cells.push(cell);
          const took = cell.process ? ` (${(cell.process.elapsed_ms / 1000).toFixed(1)} s)` : '';
          o.log(`[${cells.length}/${total}] ${cell.id}: ${cell.status}${took}${cell.status === 'pass' ? '' : ` — ${cell.reason}`}`);
        }
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }

  let environment: EnvironmentReport | null = null;
  try {
    environment = await collectEnvironment({ measure: false });
  } catch (err) {
    o.log(`validate: WARNING: environment not recorded: ${(err as Error).message}`);
  }
  const matched = baseline ? applyBaseline(cells, baseline, o.perfThresholdPct) : 0;
  const count = (s: Cell['status']) => cells.filter((c) => c.status === s).length;
  const perfWarnings = cells.filter((c) => c.perf?.slower).length;
  const cellsOk = cells.every((c) => c.status === 'pass' || (o.allowSkips && c.status === 'skipped'));

  return {
    schema: VALIDATE_SCHEMA,
    run: runMetadata(o.argv, startedAt),
    environment,
    settings: {
      devices: o.devices,
      prompts: o.prompts,
      short_prompt_tokens: SHORT_PROMPT_TOKENS,
      long_prompt_tokens: LONG_PROMPT_TOKENS,
      max_new_tokens: o.maxNewTokens,
      cell_timeout_s: o.cellTimeoutS,
      threads: o.threads,
      min_cosine: o.minCosine,
      max_rel_diff: o.maxRelDiff,
      reference_mode: mode.mode,
      python: mode.python,
      llama_cpp: o.llamaCpp,
      perf_threshold_pct: o.perfThresholdPct,
      fail_on_perf: o.failOnPerf,
      allow_skips: o.allowSkips,
      global_fault: globalFault,
      shard: o.shard,
    },
    models: prepared.map(modelEntry),
    cells,
    baseline: baseline
      ? {
          file: o.baseline!,
          same_machine: environment && baseline.environment ? environment.machine_fingerprint === baseline.environment.machine_fingerprint : null,
          matched_cells: matched,
        }
      : null,
    summary: {
      total: cells.length,
      pass: count('pass'),
      fail: count('fail'),
      crash: count('crash'),
      timeout: count('timeout'),
      error: count('error'),
      skipped: count('skipped'),
      unavailable: count('unavailable'),
      perf_warnings: perfWarnings,
    },
    pass: cellsOk && !(o.failOnPerf && perfWarnings > 0),
  };
}
