// One child process per measurement, so each reports its own peak RSS and nothing (allocator
// state, page-cache warmth of another model, a loaded torch) carries over from one to the next.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { z } from 'zod';
import { performance } from 'node:perf_hooks';
import { repoRoot } from '../paths.js';
import { defaultPython, pythonProblem } from '../reference/live.js';
import { otherCores, readCpuTicks } from './cpu-load.js';
import type { ChildRun } from './measurement.js';
import { EngineSpeedSchema, HfSpeedSchema, HfVersionsSchema, type EngineSpeed, type HfSpeed, type HfVersions } from './schema.js';

/** A hung child is killed after this long; every measurement here takes well under a minute per GiB. */
const CHILD_TIMEOUT_MS = 30 * 60_000;

export type ChildResult<T> = { ok: true; report: T } | { ok: false; error: string };
export type MeasuredChild<T extends { cpu_s: number }> = ChildResult<T> & { run: ChildRun };

export interface ChildJob {
  modelDir: string;
  /** JSON array of the prompt ids, read by both kinds of child. */
  promptFile: string;
  decodeTokens: number;
  threads: number;
}

/** The last line of stdout as JSON of the given schema, or what went wrong in one line. */
/**
 * The stderr line that says why a child failed: the last one (Python's exception), unless that is
 * Node's version banner after an uncaught error, whose stack hides the cause: then the first line
 * that names an error (e.g. llama.cpp's `error loading model: missing tensor ...`).
 */
function failureLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const last = lines.pop() ?? '';
  if (!/^Node\.js v\d/.test(last)) return last;
  return lines.find((l) => /error/i.test(l) && !/^at /.test(l)) ?? last;
}

export function parseChildOutput<T>(schema: z.ZodType<T>, run: { status: number | null; signal: string | null; stdout: string; stderr: string; error?: Error }, what: string): ChildResult<T> {
  if (run.error) return { ok: false, error: `${what}: ${run.error.message}` };
  const reason = failureLine(run.stderr);
  if (run.status !== 0) {
    const how = run.signal ? `killed by ${run.signal}` : `exit ${run.status}`;
    return { ok: false, error: `${what} failed (${how})${reason ? `: ${reason}` : ''}` };
  }
  const last = run.stdout.trim().split('\n').pop() ?? '';
  let json: unknown;
  try {
    json = JSON.parse(last);
  } catch {
    return { ok: false, error: `${what} printed no JSON report (last line: ${JSON.stringify(last.slice(0, 200))})` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${what} printed an unexpected report (${issue.path.join('.') || '(root)'}: ${issue.message})` };
  }
  return { ok: true, report: parsed.data };
}

function spawnChild(command: string, args: string[]) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 64 * 2 ** 20 });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** Runs a measuring child, noting its wall time and what else the machine did meanwhile. */
function measureChild<T extends { cpu_s: number }>(schema: z.ZodType<T>, command: string, args: string[], what: string): MeasuredChild<T> {
  const before = readCpuTicks();
  const t0 = performance.now();
  const out = spawnChild(command, args);
  const wallS = (performance.now() - t0) / 1e3;
  const after = readCpuTicks();
  const r = parseChildOutput(schema, out, what);
  // A failed child's own CPU time is unknown, so nothing can be said about the others'.
  return { ...r, run: { wallS, otherCores: r.ok ? otherCores(before, after, r.report.cpu_s, wallS) : null } };
}

export function runEngineChild(mode: 'resident' | 'streaming', job: ChildJob): MeasuredChild<EngineSpeed> {
  const script = join(repoRoot(), 'dist', 'scripts', 'engine-speed.js');
  const args = [script, '--model', job.modelDir, '--mode', mode, '--prompt-file', job.promptFile, '--decode-tokens', String(job.decodeTokens), '--threads', String(job.threads)];
  return measureChild(EngineSpeedSchema, process.execPath, args, `engine ${mode}`);
}

export function runHfChild(python: string, attn: 'eager' | 'sdpa', job: ChildJob): MeasuredChild<HfSpeed> {
  const script = join(repoRoot(), 'scripts', 'hf_speed.py');
  const args = [script, '--model', job.modelDir, '--attn', attn, '--prompt-file', job.promptFile, '--decode-tokens', String(job.decodeTokens), '--threads', String(job.threads)];
  return measureChild(HfSpeedSchema, python, args, `transformers ${attn}`);
}

export type HfAvailability = { available: true; python: string; versions: HfVersions } | { available: false; python: string | null; reason: string };

/** Whether transformers can be measured, and if not, why, in one line. */
export function hfAvailability(python: string | undefined): HfAvailability {
  const chosen = python ?? defaultPython();
  if (!chosen) return { available: false, python: null, reason: 'no Python with transformers (no .venv-hf: run scripts/setup-hf-venv.sh or pass --python PATH)' };
  const problem = pythonProblem(chosen);
  if (problem) return { available: false, python: chosen, reason: problem };
  const r = parseChildOutput(HfVersionsSchema, spawnChild(chosen, [join(repoRoot(), 'scripts', 'hf_speed.py'), '--versions']), 'hf_speed.py --versions');
  return r.ok ? { available: true, python: chosen, versions: r.report } : { available: false, python: chosen, reason: r.error };
}
