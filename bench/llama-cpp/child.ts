// The llama.cpp child process: loads node-llama-cpp (found by locate.ts; its path comes in
// RB_NODE_LLAMA_CPP), runs one job read from the JSON file named on the command line, and prints
// one report on stdout. A process of its own: llama.cpp's memory and threads stay out of the
// suite's measurements, and a crash inside it is a failed job, not a dead CLI.
//   node dist/bench/llama-cpp/child.js JOB.json
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { LLAMA_CPP_REPORT_SCHEMA, LlamaCppJobSchema, type LlamaCppBuild, type ReferenceReport, type SpeedReport } from './schema.js';

// The part of node-llama-cpp's API used here (it is no dependency, so its types are not at hand).
type GenerateNext = { token?: boolean; probabilities?: boolean };
type EvaluateItem = number | [number, { generateNext?: GenerateNext }];
interface LlamaSequence {
  /** Internal, like _ctx: the pinned version has it (see locate.ts). */
  _sequenceId: number;
  controlledEvaluate(input: EvaluateItem[]): Promise<({ next: { token?: number | null; probabilities?: Map<number, number> } } | undefined)[]>;
}
interface LlamaContext {
  getSequence(): LlamaSequence;
  dispose(): Promise<void>;
}
interface LlamaModel {
  createContext(o: { contextSize: number; batchSize: number; threads: number; sequences: number }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}
interface Llama {
  llamaCppRelease: { repo: string; release: string };
  buildType: string;
  systemInfo: string;
  loadModel(o: { modelPath: string; gpuLayers: number }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}
interface NodeLlamaCpp {
  getLlama(o: { gpu: false; build: 'never'; logLevel: unknown }): Promise<Llama>;
  LlamaLogLevel: { error: unknown };
}

/** The AddonContext under node-llama-cpp's LlamaContext: llama_batch and llama_decode with nothing around them. */
interface LowLevelContext {
  initBatch(size: number): void;
  addToBatch(sequenceId: number, firstTokenSequenceIndex: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
}

const entry = process.env.RB_NODE_LLAMA_CPP;
const jobFile = process.argv[2];
if (!entry || !jobFile) throw new Error('usage: RB_NODE_LLAMA_CPP=.../node-llama-cpp/dist/index.js node child.js JOB.json');
const job = LlamaCppJobSchema.parse(JSON.parse(readFileSync(jobFile, 'utf8')));
const lib = (await import(pathToFileURL(entry).href)) as NodeLlamaCpp;
const version = (JSON.parse(readFileSync(new URL('../package.json', pathToFileURL(entry)), 'utf8')) as { version: string }).version;

// The CPU build only: the comparison is with the engine's CPU backend.
const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error });
const build: LlamaCppBuild = {
  node_llama_cpp: version,
  llama_cpp_release: llama.llamaCppRelease.release,
  llama_cpp_repo: llama.llamaCppRelease.repo,
  build_type: llama.buildType,
  system_info: llama.systemInfo,
  threads: job.threads,
};
const t0 = performance.now();
const model = await llama.loadModel({ modelPath: job.model, gpuLayers: 0 });
const loadS = (performance.now() - t0) / 1e3;

async function context(tokens: number): Promise<LlamaContext> {
  return model.createContext({ contextSize: tokens + 8, batchSize: tokens, threads: job.threads, sequences: 1 });
}

function top5(probabilities: Map<number, number>): { id: number; p: number }[] {
  return [...probabilities.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 5).map(([id, p]) => ({ id, p }));
}

async function reference(j: Extract<typeof job, { kind: 'reference' }>): Promise<ReferenceReport> {
  const cases: ReferenceReport['cases'] = [];
  for (const c of j.cases) {
    const ctx = await context(c.prompt_ids.length + c.max_new_tokens);
    try {
      const seq = ctx.getSequence();
      const last = c.prompt_ids[c.prompt_ids.length - 1];
      // No sampling options: the argmax, and the probabilities as llama.cpp computed them.
      const prefill = await seq.controlledEvaluate([...c.prompt_ids.slice(0, -1), [last, { generateNext: { token: true, probabilities: true } }]]);
      const first = prefill[prefill.length - 1]?.next;
      if (first?.token == null || !first.probabilities) throw new Error(`llama.cpp returned no next token for case ${c.name}`);
      const tokens = [first.token];
      while (tokens.length < c.max_new_tokens) {
        const [step] = await seq.controlledEvaluate([[tokens[tokens.length - 1], { generateNext: { token: true } }]]);
        if (step?.next.token == null) throw new Error(`llama.cpp returned no next token at step ${tokens.length} of case ${c.name}`);
        tokens.push(step.next.token);
      }
      cases.push({ name: c.name, prompt_ids: c.prompt_ids, greedy_tokens: tokens, top5: top5(first.probabilities) });
    } finally {
      await ctx.dispose();
    }
  }
  return { schema: LLAMA_CPP_REPORT_SCHEMA, kind: 'reference', build, cases };
}

async function decodeOnce(ctx: LowLevelContext, sequence: number, position: number, tokens: number[]): Promise<void> {
  ctx.initBatch(tokens.length);
  ctx.addToBatch(sequence, position, Uint32Array.from(tokens), Uint32Array.of(tokens.length - 1));
  await ctx.decodeBatch();
}

// Timed as llama-bench times pp and tg: llama_decode calls and nothing else (no sampling, no
// token predictor), through the lowest path node-llama-cpp offers. A warm-up pass first, on a
// context of its own, so the timed one finds the weights paged in.
async function speed(j: Extract<typeof job, { kind: 'speed' }>): Promise<SpeedReport> {
  const run = async () => {
    const ctx = await context(j.prompt_ids.length + j.decode_tokens);
    try {
      const seq = ctx.getSequence();
      const low = (ctx as unknown as { _ctx: LowLevelContext })._ctx;
      const p0 = performance.now();
      await decodeOnce(low, seq._sequenceId, 0, j.prompt_ids);
      const prefillS = (performance.now() - p0) / 1e3;
      const d0 = performance.now();
      for (let i = 0; i < j.decode_tokens; i++) await decodeOnce(low, seq._sequenceId, j.prompt_ids.length + i, [j.prompt_ids[i % j.prompt_ids.length]]);
      return { prefillS, decodeS: (performance.now() - d0) / 1e3 };
    } finally {
      await ctx.dispose();
    }
  };
  await run();
  const timed = await run();
  const cpu = process.cpuUsage();
  return {
    schema: LLAMA_CPP_REPORT_SCHEMA,
    kind: 'speed',
    build,
    prompt_tokens: j.prompt_ids.length,
    decode_tokens: j.decode_tokens,
    prefill_s: timed.prefillS,
    decode_s: timed.decodeS,
    load_s: loadS,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    cpu_s: (cpu.user + cpu.system) / 1e6,
  };
}

try {
  const report = job.kind === 'reference' ? await reference(job) : await speed(job);
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await model.dispose();
  await llama.dispose();
}
