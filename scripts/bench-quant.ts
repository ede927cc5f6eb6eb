// npm run bench:quant — what quantizing buys: a synthetic checkpoint in bf16 (safetensors) and
// `rabbit-bench quantize` of it to each GGUF type mix, resident and streamed, interleaved in one
// run (round r runs every model and mode once, each in a child process of its own), with the
// bytes each decode token reads and the decode speed as ratios to the bf16 checkpoint.
//
//   npm run bench:quant -- [--shapes smollm2-135m] [--types Q8_0,Q6_K,Q5_K_M,Q4_K_M,Q4_0]
//                          [--rounds 3] [--prompt-tokens 512] [--decode-tokens 32] [--out results/quant]
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runCommand } from '../bench/commands/run.js';
import { loadAddon } from '../bench/engine/native.js';
import { collectEnvironment, runMetadata } from '../bench/env/environment.js';
import { parseBenchArgs } from '../bench/bench-args.js';
import { buildLoadPlan } from '../bench/model/plan.js';
import { markdownTables } from '../bench/report/printers/markdown.js';
import { terminalTables } from '../bench/report/printers/table.js';
import { aggregate, evaluateTargets, quantTable, MODES, targetsTable, type QuantMeasurement, type QuantModel } from '../bench/quantize/bench.js';
import { parseMix, quantizeModel } from '../bench/quantize/quantize.js';
import { resultStem, writeResultFiles } from '../bench/results/files.js';
import { runEngineChild } from '../bench/vs-hf/children.js';
import { ensureShapeModel } from '../bench/synth/models.js';
import { lcgPromptIds } from '../bench/vs-hf/prompt.js';
import { decodeWeightBytes } from '../bench/vs-hf/roofline.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const started = new Date();
  const t0 = performance.now();
  const { numbers, strings: values } = parseBenchArgs({ rounds: 3, 'prompt-tokens': 512, 'decode-tokens': 32 },
    { shapes: 'smollm2-135m', types: 'Q8_0,Q6_K,Q5_K_M,Q4_K_M,Q4_0', out: 'results/quant' });
  const { rounds, 'prompt-tokens': promptTokens, 'decode-tokens': decodeTokens } = numbers;
  const types = values.types!.split(',').map((t) => parseMix(t.trim()));
  const metadata = runMetadata(process.argv, started);
  const build = loadAddon().buildInfo();
  const threads = cpus().length;

  const models: QuantModel[] = [];
  for (const shape of values.shapes!.split(',')) {
    const dir = ensureShapeModel({ shape, dtype: 'bfloat16' }, log).path;
    const add = (type: string, path: string) => {
      const plan = buildLoadPlan(path);
      models.push({ shape, type, path, decode_weight_bytes: decodeWeightBytes(plan).stored, file_bytes: plan.files.reduce((a, f) => a + statSync(f).size, 0) });
    };
    add('BF16', dir);
    for (const type of types) {
      const file = `${dir}-${type}.gguf`;
      if (!existsSync(file)) {
        log(`quantizing ${shape} to ${type} (rabbit-bench quantize) — once`);
        quantizeModel({ model: dir, type, out: file, force: false });
      }
      add(type, file);
    }
  }

  const work = mkdtempSync(join(tmpdir(), 'rb-bench-quant-'));
  const measurements: QuantMeasurement[] = [];
  try {
    const total = rounds * models.length * MODES.length;
    for (let round = 0; round < rounds; round++) {
      for (const m of models) {
        const promptFile = join(work, `${m.shape}.prompt.json`);
        writeFileSync(promptFile, JSON.stringify(lcgPromptIds(promptTokens, buildLoadPlan(m.path).spec.vocabSize)));
        for (const mode of MODES) {
          const r = runEngineChild(mode, { modelDir: m.path, promptFile, decodeTokens, threads });
          const base = { round, shape: m.shape, type: m.type, mode };
          const measurement: QuantMeasurement = r.ok
            ? {
                ...base,
                error: null,
                prefill_tok_s: r.report.prompt_tokens / r.report.prefill_s,
                decode_tok_s: r.report.decode_tokens / r.report.decode_s,
                bytes_per_decode_step: r.report.decode_phases.steps > 0 ? r.report.decode_phases.bytes_read / r.report.decode_phases.steps : null,
                peak_rss_bytes: r.report.peak_rss_bytes,
              }
            : { ...base, error: r.error, prefill_tok_s: null, decode_tok_s: null, bytes_per_decode_step: null, peak_rss_bytes: null };
          measurements.push(measurement);
          log(`[${measurements.length}/${total}] round ${round + 1} ${m.shape} ${m.type} ${mode}: ` +
            (measurement.error ?? `prefill ${measurement.prefill_tok_s!.toFixed(1)} tok/s · decode ${measurement.decode_tok_s!.toFixed(1)} tok/s`));
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const rows = aggregate(models, measurements);
  const targets = evaluateTargets(rows);
  const environment = await collectEnvironment({ measure: false });
  const file = {
    schema: 'rabbit-bench/bench-quant@1',
    created_at: new Date().toISOString(),
    wall_s: (performance.now() - t0) / 1e3,
    metadata,
    environment,
    engine: { build, threads },
    settings: { shapes: values.shapes!.split(','), types, rounds, prompt_tokens: promptTokens, decode_tokens: decodeTokens },
    models,
    measurements,
    rows,
    targets,
  };
  const md = `# bench:quant\n\n${metadata.command}\n\n${markdownTables([quantTable(rows), targetsTable(targets)])}\n`;
  const csv = ['shape,type,mode,round,prefill_tok_s,decode_tok_s,bytes_per_decode_step,error',
    ...measurements.map((m) => [m.shape, m.type, m.mode, m.round, m.prefill_tok_s ?? '', m.decode_tok_s ?? '', m.bytes_per_decode_step ?? '', JSON.stringify(m.error ?? '')].join(','))].join('\n') + '\n';
  const written = writeResultFiles(resolve(values.out!), resultStem('bench-quant', values.shapes!), { json: file, csv, md });
  process.stdout.write(`${terminalTables([quantTable(rows), targetsTable(targets)])}\nwall ${file.wall_s.toFixed(0)} s · wrote ${written.json}, ${written.md}\n`);
  return measurements.some((m) => m.error !== null) ? 1 : 0;
}

await runCommand(main);
