// GPU verification, run by scripts/gpu-check.sh on a machine with a CUDA device:
//   node dist/bench/cuda/gpu-check.js [--out DIR] MODEL_DIR...
// For every model folder with a golden HF reference (test/golden/<folder name>.json) and every
// transfer configuration RabbitLLM compares, the CUDA engine's parity with HF (the `parity`
// machinery, f32 tolerances) and its greedy tokens against the CPU engine's. Writes
// <date>-gpu-check.json under --out (default results/); exit 0 when everything passes, 1 when
// anything fails, 2 when CUDA cannot run here.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceEngine, type EngineOptions } from '../engine/engine.js';
import { buildLoadPlan } from '../model/plan.js';
import { repoRoot } from '../paths.js';
import { F32_TOLERANCE } from '../reference/compare.js';
import { readReference } from '../reference/reference-file.js';
import { runParity, type CaseResult } from '../reference/run-parity.js';
import { checkReferenceWeights } from '../reference/weights-check.js';
import { resultStem } from '../results/files.js';
import { cudaDeviceLine, cudaStatus } from './status.js';

export const GPU_CHECK_CONFIGS: Record<string, EngineOptions> = {
  'pinned+async': { pinMemory: true, asyncTransfer: true },
  'pageable+async': { pinMemory: false, asyncTransfer: true },
  'pinned+sync': { pinMemory: true, asyncTransfer: false },
  'pageable+sync': { pinMemory: false, asyncTransfer: false },
  'no-prefetch': { prefetch: false },
  resident: { resident: true },
};

interface CaseCheck {
  config: string;
  case: string;
  prompt_tokens: number;
  cuda: CaseResult['metrics'];
  cuda_pass: boolean;
  cuda_failures: string[];
  /** The CUDA greedy tokens equal the CPU engine's for this case. */
  tokens_equal_cpu: boolean;
  first_token_difference: number | null;
}

async function parityOn(dir: string, golden: string, options: EngineOptions): Promise<{ results: CaseResult[]; tokens: number[][] }> {
  const engine = InferenceEngine.open(buildLoadPlan(dir), options);
  try {
    const reference = readReference(golden);
    const results = await runParity(reference, engine, F32_TOLERANCE);
    const tokens: number[][] = [];
    for (const c of reference.cases) {
      const out = await engine.generate({ promptIds: c.prompt_ids, maxNewTokens: c.max_new_tokens, stopOnEos: false, sampling: { greedy: true } });
      tokens.push(out.tokens);
    }
    return { results, tokens };
  } finally {
    engine.close();
  }
}

async function main(argv: string[]): Promise<number> {
  let out = 'results';
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = argv[++i];
    else dirs.push(argv[i]);
  }
  const status = cudaStatus();
  const started = new Date();
  const report: Record<string, unknown> = { schema: 'rabbit-bench/gpu-check@1', created_at: started.toISOString(), cuda: status, configs: GPU_CHECK_CONFIGS };
  const write = (): string => {
    mkdirSync(resolve(out), { recursive: true });
    const path = join(resolve(out), `${resultStem('gpu-check', 'cuda', started)}.json`);
    writeFileSync(path, `${JSON.stringify(report, null, 1)}\n`);
    return path;
  };
  if (!status.available) {
    report.pass = false;
    process.stderr.write(`gpu-check: CUDA unavailable (${status.code}): ${status.reason}\nwrote ${write()}\n`);
    return 2;
  }
  process.stderr.write(`gpu-check: ${cudaDeviceLine(status)}\n`);
  const models: unknown[] = [];
  let failures = 0;
  for (const dir of dirs) {
    const name = basename(resolve(dir));
    const golden = join(repoRoot(), 'test', 'golden', `${name}.json`);
    if (!existsSync(golden)) {
      models.push({ name, dir, skipped: `no golden reference ${golden}` });
      continue;
    }
    const weights = checkReferenceWeights(readReference(golden), buildLoadPlan(dir).files);
    if (weights.status === 'mismatch') {
      models.push({ name, dir, skipped: `golden ${golden} was made from other weights` });
      failures++;
      continue;
    }
    const cpu = await parityOn(dir, golden, { device: 'cpu' });
    const cases: CaseCheck[] = [];
    for (const [config, options] of Object.entries(GPU_CHECK_CONFIGS)) {
      const t0 = performance.now();
      const cuda = await parityOn(dir, golden, { ...options, device: 'cuda' });
      cuda.results.forEach((r, i) => {
        const a = cuda.tokens[i];
        const b = cpu.tokens[i];
        const diff = a.findIndex((t, j) => t !== b[j]);
        const equal = diff === -1 && a.length === b.length;
        cases.push({ config, case: r.name, prompt_tokens: r.prompt_tokens, cuda: r.metrics, cuda_pass: r.pass, cuda_failures: r.failures,
          tokens_equal_cpu: equal, first_token_difference: equal ? null : diff });
        if (!r.pass || !equal) failures++;
      });
      process.stderr.write(`gpu-check: ${name} ${config}: ${cuda.results.map((r) => (r.pass ? 'pass' : 'FAIL')).join(', ')} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    }
    models.push({ name, dir, golden, cpu_pass: cpu.results.every((r) => r.pass), cases });
  }
  report.models = models;
  report.failures = failures;
  report.pass = failures === 0;
  process.stderr.write(`gpu-check: ${failures === 0 ? 'all passed' : `${failures} failure(s)`}; wrote ${write()}\n`);
  return failures === 0 ? 0 : 1;
}

// Run as a program (not when imported).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: Error) => {
      process.stderr.write(`gpu-check: error: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
