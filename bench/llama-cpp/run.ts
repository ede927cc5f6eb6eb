// Runs the llama.cpp child on one job and reads its report (as bench:vs-hf reads its children's);
// every way it can fail is one line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { UserError } from '../errors.js';
import { repoRoot } from '../paths.js';
import { parseChildOutput, type ChildResult } from '../vs-hf/children.js';
import { locateLlamaCpp } from './locate.js';
import { ReferenceReportSchema, SpeedReportSchema, type LlamaCppJob, type ReferenceReport, type SpeedReport } from './schema.js';

/** A hung llama.cpp is killed after this long; the jobs here take seconds per GiB of weights. */
const CHILD_TIMEOUT_MS = 20 * 60_000;

function runChild<T>(schema: z.ZodType<T>, job: LlamaCppJob): ChildResult<T> {
  const where = locateLlamaCpp();
  if (!where.found) return { ok: false, error: where.reason };
  const work = mkdtempSync(join(tmpdir(), 'rb-llama-cpp-'));
  try {
    const jobFile = join(work, 'job.json');
    writeFileSync(jobFile, JSON.stringify(job));
    const r = spawnSync(process.execPath, [join(repoRoot(), 'dist', 'bench', 'llama-cpp', 'child.js'), jobFile], {
      encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 64 * 2 ** 20,
      // One libuv pool thread: llama-bench calls llama_decode from one thread, while node-llama-cpp's
      // async calls hop among libuv's four, and ggml's CPU threads then contend with each other
      // (measured: SmolLM2-135M Q8_0 on 2 threads decoded at 51 tok/s that way, 112 this way).
      env: { UV_THREADPOOL_SIZE: '1', ...process.env, RB_NODE_LLAMA_CPP: where.entry },
    });
    return parseChildOutput(schema, { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error },
      `llama.cpp (node-llama-cpp ${where.version})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function llamaCppReference(job: Omit<Extract<LlamaCppJob, { kind: 'reference' }>, 'kind'>): ReferenceReport {
  const r = runChild(ReferenceReportSchema, { kind: 'reference', ...job });
  if (!r.ok) throw new UserError(`no llama.cpp reference: ${r.error}`, 2);
  return r.report;
}

export function llamaCppSpeed(job: Omit<Extract<LlamaCppJob, { kind: 'speed' }>, 'kind'>): ChildResult<SpeedReport> {
  return runChild(SpeedReportSchema, { kind: 'speed', ...job });
}
