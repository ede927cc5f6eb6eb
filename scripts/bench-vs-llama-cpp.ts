// npm run bench:vs-llama-cpp — the engine (resident and streamed) against llama.cpp on the same
// GGUF files, interleaved in one run (round r runs every model and runner once, each in a child
// process of its own), with prefill and decode tok/s, peak RSS, ratios to llama.cpp and the
// decode roofline (memory bandwidth ÷ the bytes a token reads). Without node-llama-cpp (see
// npm run setup:llama-cpp) it says so and measures the engine alone.
//
//   npm run bench:vs-llama-cpp -- [--shapes smollm2-135m,qwen2.5-0.5b] [--types F32,BF16,Q8_0,Q4_K_M]
//                                 [--rounds 3] [--prompt-tokens 512] [--decode-tokens 32] [--out results/vs-llama-cpp]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runCommand } from '../bench/commands/run.js';
import { loadAddon } from '../bench/engine/native.js';
import { collectEnvironment, runMetadata } from '../bench/env/environment.js';
import { measureMemoryBandwidth } from '../bench/env/measure.js';
import { parseBenchArgs } from '../bench/bench-args.js';
import { locateLlamaCpp } from '../bench/llama-cpp/locate.js';
import { llamaCppSpeed } from '../bench/llama-cpp/run.js';
import { buildLoadPlan } from '../bench/model/plan.js';
import { render, saveReport } from '../bench/report/print.js';
import { runEngineChild } from '../bench/vs-hf/children.js';
import { lcgPromptIds } from '../bench/vs-hf/prompt.js';
import { decodeWeightBytes } from '../bench/vs-hf/roofline.js';
import { vsLlamaCppReport, vsLlamaRows } from '../bench/vs-llama-cpp/bench.js';
import { RUNNERS, VS_LLAMA_CPP_SCHEMA, VsLlamaCppFileSchema, type Runner, type VsLlamaMeasurement, type VsLlamaModel } from '../bench/vs-llama-cpp/schema.js';
import { ensureShapeModel } from '../bench/synth/models.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const started = new Date();
  const t0 = performance.now();
  const { numbers, strings: values } = parseBenchArgs({ rounds: 3, 'prompt-tokens': 512, 'decode-tokens': 32 },
    { shapes: 'smollm2-135m,qwen2.5-0.5b', types: 'F32,BF16,Q8_0,Q4_K_M', out: 'results/vs-llama-cpp' });
  const { rounds, 'prompt-tokens': promptTokens, 'decode-tokens': decodeTokens } = numbers;
  const metadata = runMetadata(process.argv, started);
  const build = loadAddon().buildInfo();
  const threads = cpus().length;
  const llama = locateLlamaCpp();
  if (!llama.found) log(`llama.cpp not measured: ${llama.reason}`);
  const runners: Runner[] = RUNNERS.filter((r) => r !== 'llama.cpp' || llama.found);

  const shapes = values.shapes!.split(',').map((s) => s.trim());
  const types = values.types!.split(',').map((t) => t.trim());
  const models: VsLlamaModel[] = shapes.flatMap((shape) => types.map((type) => {
    const file = ensureShapeModel({ shape, format: 'gguf', dtype: type }, log).path;
    return { shape, type, file, weight_bytes_per_token: decodeWeightBytes(buildLoadPlan(file)).stored };
  }));
  log('measuring memory bandwidth (STREAM triad) ...');
  const memory = await measureMemoryBandwidth();

  const work = mkdtempSync(join(tmpdir(), 'rb-vs-llama-'));
  const measurements: VsLlamaMeasurement[] = [];
  let llamaBuild: unknown = null;
  try {
    const total = rounds * models.length * runners.length;
    for (let round = 0; round < rounds; round++) {
      for (const m of models) {
        const promptIds = lcgPromptIds(promptTokens, buildLoadPlan(m.file).spec.vocabSize);
        const promptFile = join(work, 'prompt.json');
        writeFileSync(promptFile, JSON.stringify(promptIds));
        for (const runner of runners) {
          const base = { round, shape: m.shape, type: m.type, runner };
          const r = runner === 'llama.cpp'
            ? llamaCppSpeed({ model: m.file, threads, prompt_ids: promptIds, decode_tokens: decodeTokens })
            : runEngineChild(runner === 'engine-resident' ? 'resident' : 'streaming', { modelDir: m.file, promptFile, decodeTokens, threads });
          if (r.ok && runner === 'llama.cpp') llamaBuild = r.report.build;
          const measurement: VsLlamaMeasurement = r.ok
            ? { ...base, error: null, prefill_tok_s: r.report.prompt_tokens / r.report.prefill_s, decode_tok_s: r.report.decode_tokens / r.report.decode_s, peak_rss_bytes: r.report.peak_rss_bytes }
            : { ...base, error: r.error, prefill_tok_s: null, decode_tok_s: null, peak_rss_bytes: null };
          measurements.push(measurement);
          log(`[${measurements.length}/${total}] round ${round + 1} ${m.shape} ${m.type} ${runner}: ` +
            (measurement.error ?? `prefill ${measurement.prefill_tok_s!.toFixed(1)} tok/s · decode ${measurement.decode_tok_s!.toFixed(1)} tok/s`));
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const rows = vsLlamaRows(models, measurements, memory.triad.best_gbps * 1e9);
  const file = VsLlamaCppFileSchema.parse({
    schema: VS_LLAMA_CPP_SCHEMA,
    created_at: new Date().toISOString(),
    wall_s: (performance.now() - t0) / 1e3,
    metadata,
    environment: await collectEnvironment({ measure: false }),
    engine: { build, threads },
    llama_cpp: llama.found ? { build: llamaBuild, from: llama.from, entry: llama.entry } : { not_measured: llama.reason },
    memory_bandwidth: memory,
    settings: { shapes, types, rounds, prompt_tokens: promptTokens, decode_tokens: decodeTokens, threads },
    models,
    measurements,
    rows,
  });
  const report = vsLlamaCppReport(file);
  const written = saveReport(report, values.out!, shapes.join('+'));
  process.stdout.write(`${render(report, 'table')}\nwall ${file.wall_s.toFixed(0)} s · wrote ${written.json}, ${written.md}, ${written.csv}\n`);
  return measurements.some((m) => m.error !== null) ? 1 : 0;
}

await runCommand(main);
