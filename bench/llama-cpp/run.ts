// Runs the llama.cpp child on one job and reads its report; every way it can fail is one line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { UserError } from '../errors.js';
import { peerEnvironment } from '../engine/native.js';
import { repoRoot } from '../paths.js';
import { locateLlamaCpp } from './locate.js';
import { ReferenceReportSchema, SpeedReportSchema, type LlamaCppJob, type ReferenceReport, type SpeedReport } from './schema.js';

/** A hung llama.cpp is killed after this long; the jobs here take seconds per GiB of weights. */
const CHILD_TIMEOUT_MS = 20 * 60_000;

export type LlamaCppResult<T> = { ok: true; report: T } | { ok: false; error: string };

function runChild<T>(schema: z.ZodType<T>, job: LlamaCppJob): LlamaCppResult<T> {
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
      env: { UV_THREADPOOL_SIZE: '1', ...peerEnvironment(), RB_NODE_LLAMA_CPP: where.entry },
    });
    const lastErr = (r.stderr ?? '').trim().split('\n').filter((l) => l.trim() !== '').pop() ?? '';
    if (r.error) return { ok: false, error: `llama.cpp (node-llama-cpp ${where.version}): ${r.error.message}` };
    if (r.status !== 0) {
      return { ok: false, error: `llama.cpp (node-llama-cpp ${where.version}) failed (${r.signal ? `killed by ${r.signal}` : `exit ${r.status}`})${lastErr ? `: ${lastErr}` : ''}` };
    }
    const last = r.stdout.trim().split('\n').pop() ?? '';
    let json: unknown;
    try {
      json = JSON.parse(last);
    } catch {
      return { ok: false, error: `llama.cpp printed no JSON report (last line: ${JSON.stringify(last.slice(0, 200))})` };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) return { ok: false, error: `llama.cpp printed an unexpected report: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}` };
    return { ok: true, report: parsed.data };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function llamaCppReference(job: Omit<Extract<LlamaCppJob, { kind: 'reference' }>, 'kind'>): ReferenceReport {
  const r = runChild(ReferenceReportSchema, { kind: 'reference', ...job });
  if (!r.ok) throw new UserError(`no llama.cpp reference: ${r.error}`, 2);
  return r.report;
}

export function llamaCppSpeed(job: Omit<Extract<LlamaCppJob, { kind: 'speed' }>, 'kind'>): LlamaCppResult<SpeedReport> {
  return runChild(SpeedReportSchema, { kind: 'speed', ...job });
}
