// npm run bench:vs-hf — the engine (resident and streaming) against Hugging Face transformers
// (torch CPU, float32, eager and sdpa) on the same synthetic models, prompt ids and thread count,
// interleaved in one run: round r runs every configuration once (model → dtype → runner), each in
// a child process of its own, and the table shows the medians over rounds with the ratios
// engine ÷ transformers and each runner's decode roofline. Then the targets as PASS/MISS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runCommand } from '../bench/commands/run.js';
import { loadAddon } from '../bench/engine/native.js';
import { collectEnvironment, runMetadata } from '../bench/env/environment.js';
import { measureDiskRead, measureMemoryBandwidth } from '../bench/env/measure.js';
import { UserError } from '../bench/errors.js';
import { buildLoadPlan } from '../bench/model/plan.js';
import { render, saveReport } from '../bench/report/print.js';
import { ensureShapeModel } from '../bench/synth/models.js';
import { aggregateRows } from '../bench/vs-hf/aggregate.js';
import { hfAvailability, runEngineChild, runHfChild, type ChildJob } from '../bench/vs-hf/children.js';
import { failedMeasurement, measurementFrom } from '../bench/vs-hf/measurement.js';
import { plausibilityNotes } from '../bench/vs-hf/notes.js';
import { parseVsHfArgs } from '../bench/vs-hf/options.js';
import { lcgPromptIds } from '../bench/vs-hf/prompt.js';
import { fmtRate, vsHfReport } from '../bench/vs-hf/render.js';
import { decodeWeightBytes, memoryBandwidthUsed } from '../bench/vs-hf/roofline.js';
import { DTYPES, RUNNERS, VS_HF_SCHEMA, VsHfFileSchema, isEngine, type Measurement, type ModelEntry, type Runner } from '../bench/vs-hf/schema.js';
import { evaluateTargets } from '../bench/vs-hf/targets.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const startedAt = new Date();
  const t0 = performance.now();
  const opts = parseVsHfArgs(process.argv.slice(2));
  const metadata = runMetadata(process.argv, startedAt);
  const threads = cpus().length;
  // The transformers children get the environment as the user set it, so each side runs with its
  // own defaults. torch's default spins: on a busy 2-core VM that once cost it most of its decode
  // speed, on a quiet one passive cost it half; the table says which ran.
  const hfOmpWaitPolicy = process.env.OMP_WAIT_POLICY ?? null;
  const build = loadAddon().buildInfo();

  const models: (ModelEntry & { promptFile: string })[] = [];
  const work = mkdtempSync(join(tmpdir(), 'rb-vs-hf-'));
  try {
    for (const model of opts.models) {
      for (const dtype of opts.dtypes) {
        const dir = ensureShapeModel({ shape: model, dtype: DTYPES[dtype] }, log).path;
        const plan = buildLoadPlan(dir);
        const needed = opts.promptTokens + opts.decodeTokens + 1;
        if (needed > plan.spec.maxPositions) {
          throw new UserError(`${model}: --prompt-tokens + --decode-tokens + 1 = ${needed} exceeds max_position_embeddings ${plan.spec.maxPositions}`, 2);
        }
        const promptIds = lcgPromptIds(opts.promptTokens, plan.spec.vocabSize);
        const promptFile = join(work, `${model}-${dtype}.prompt.json`);
        writeFileSync(promptFile, JSON.stringify(promptIds));
        const bytes = decodeWeightBytes(plan);
        models.push({
          model, dtype, dir, promptFile,
          architecture: plan.spec.architecture,
          num_layers: plan.spec.numLayers,
          vocab_size: plan.spec.vocabSize,
          weight_bytes_per_token: bytes.stored,
          weight_bytes_per_token_f32: bytes.f32,
          prompt_ids: promptIds,
        });
      }
    }

    const hf = opts.hf ? hfAvailability(opts.python) : { available: false as const, python: null, reason: 'turned off with --no-hf' };
    if (hf.available) log(`transformers ${hf.versions.transformers_version}, torch ${hf.versions.torch_version} (${hf.python})`);
    else log(`transformers not measured: ${hf.reason}; reporting the engine alone`);
    const runners: Runner[] = RUNNERS.filter((r) => hf.available || isEngine(r));

    // The bandwidths the rooflines divide by; memory again at the end to see whether it drifted.
    log('measuring memory bandwidth (STREAM) ...');
    const memoryStart = await measureMemoryBandwidth();
    const modelsRoot = dirname(models[0].dir);
    log(`measuring read bandwidth (cold and page cache) in ${modelsRoot} ...`);
    const disk = await measureDiskRead(modelsRoot);

    const measurements: Measurement[] = [];
    const total = opts.rounds * models.length * runners.length;
    for (let round = 0; round < opts.rounds; round++) {
      for (const m of models) {
        for (const runner of runners) {
          const job: ChildJob = { modelDir: m.dir, promptFile: m.promptFile, decodeTokens: opts.decodeTokens, threads };
          const where = { round, model: m.model, dtype: m.dtype, runner };
          const r = runner === 'engine-resident' || runner === 'engine-streaming'
            ? runEngineChild(runner === 'engine-resident' ? 'resident' : 'streaming', job)
            : runHfChild(hf.python!, runner === 'hf-eager' ? 'eager' : 'sdpa', job);
          const measurement = r.ok ? measurementFrom(where, r.run, r.report) : failedMeasurement(where, r.run, r.error);
          measurements.push(measurement);
          const others = measurement.other_cores === null ? '' : ` · others used ${measurement.other_cores.toFixed(2)} cores`;
          const figures = measurement.error ?? `prefill ${fmtRate(measurement.prefill_tok_s)} tok/s · decode ${fmtRate(measurement.decode_tok_s)} tok/s · peak RSS ${((measurement.peak_rss_bytes ?? 0) / 2 ** 20).toFixed(0)} MiB${others}`;
          log(`[${measurements.length}/${total}] round ${round + 1} ${m.model} ${m.dtype} ${runner}: ${figures} (${measurement.wall_s.toFixed(1)} s)`);
        }
      }
    }

    log('measuring memory bandwidth again (end) ...');
    const memoryEnd = await measureMemoryBandwidth();
    const environment = await collectEnvironment({ measure: false, diskDir: modelsRoot });
    const memoryUsed = memoryBandwidthUsed([memoryStart, memoryEnd]);
    const entries: ModelEntry[] = models.map(({ promptFile: _p, ...e }) => e);
    const rows = aggregateRows(measurements, entries, { memory: memoryUsed, pageCache: disk.warm_mbps * 1e6 });
    const hfReason = hf.available ? null : hf.reason;
    const hfRun = measurements.find((x) => x.raw !== null && 'attn_implementation' in x.raw)?.raw;
    const hfThreads = hfRun && 'attn_implementation' in hfRun ? hfRun.threads : null;

    const file = VsHfFileSchema.parse({
      schema: VS_HF_SCHEMA,
      created_at: new Date().toISOString(),
      wall_s: (performance.now() - t0) / 1e3,
      metadata,
      environment,
      settings: { models: opts.models, dtypes: opts.dtypes, rounds: opts.rounds, prompt_tokens: opts.promptTokens, decode_tokens: opts.decodeTokens, threads, hf_omp_wait_policy: hfOmpWaitPolicy, runners },
      engine: { build, threads },
      hf: {
        available: hf.available,
        reason: hfReason,
        python: hf.python,
        torch_version: hf.available ? hf.versions.torch_version : null,
        transformers_version: hf.available ? hf.versions.transformers_version : null,
        threads: hfThreads,
      },
      bandwidth: {
        memory_start: memoryStart,
        memory_end: memoryEnd,
        memory_used: memoryUsed,
        memory_used_from: 'STREAM triad best, higher of start and end',
        disk,
        page_cache_used: disk.warm_mbps * 1e6,
      },
      models: entries,
      measurements,
      rows,
      targets: evaluateTargets(rows, entries, hfReason),
      notes: plausibilityNotes({ rows, measurements, models: entries, build, l3Bytes: environment.cpu.l3_bytes, threads }),
    });

    const report = vsHfReport(file);
    const written = saveReport(report, opts.out, opts.models.join('+'));
    process.stdout.write(render(report, 'table'));
    process.stdout.write(`\nwall ${file.wall_s.toFixed(0)} s · wrote ${written.json}, ${written.md}, ${written.csv}\n`);
    const failed = measurements.filter((x) => x.error !== null).length;
    if (failed > 0) log(`${failed} of ${measurements.length} measurements failed (see the table and the JSON)`);
    return failed > 0 ? 1 : 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await runCommand(main);
