// npm run bench:cold — what --cold means: one model profiled warm, --cold=run and --cold=step,
// interleaved in one run (round r profiles every mode once, each in a child process of its own),
// with the bytes the engine read, the bytes the device delivered (/proc/self/io), the read rate
// and decode tok/s; env's disk probe measures the model's folder first.
//
//   npm run bench:cold -- [--model DIR] [--rounds 3] [--prompt-tokens 16] [--max-new-tokens 8] [--out results/cold]
//
// Without --model: the Qwen2.5-7B shape cut to 2 layers, bf16 (2.9 GiB; its embedding and
// lm_head keep their real sizes), synthesised once into the rabbit-bench cache.
import { spawnSync } from 'node:child_process';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runCommand } from '../bench/commands/run.js';
import { ensureShapeModel } from '../bench/synth/models.js';
import { loadAddon } from '../bench/engine/native.js';
import { collectEnvironment, runMetadata } from '../bench/env/environment.js';
import { measureDiskRead } from '../bench/env/measure.js';
import { deviceReadLimit } from '../bench/env/types.js';
import { parseBenchArgs } from '../bench/bench-args.js';
import { UserError } from '../bench/errors.js';
import { writableDir, repoRoot } from '../bench/paths.js';
import { buildLoadPlan } from '../bench/model/plan.js';
import { COLD_MODES, coldMarkdown, coldRows, measurementOf, MODE_FLAGS, type ColdMeasurement } from '../bench/profile/cold-bench.js';
import { resultStem, writeResultFiles } from '../bench/results/files.js';
import { parseProfileFile } from '../bench/results/read.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const started = new Date();
  const t0 = performance.now();
  const { numbers, strings: values } = parseBenchArgs({ rounds: 3, 'prompt-tokens': 16, 'max-new-tokens': 8 }, { model: undefined, out: 'results/cold' });
  const { rounds, 'prompt-tokens': promptTokens, 'max-new-tokens': maxNewTokens } = numbers;
  const metadata = runMetadata(process.argv, started);
  const build = loadAddon().buildInfo();
  const model = values.model ?? ensureShapeModel({ shape: 'qwen2.5-7b', layers: 2, dtype: 'bfloat16' }, log).path;
  const plan = buildLoadPlan(model);

  const diskDir = writableDir(plan.modelDir);
  if (!diskDir) throw new UserError(`${plan.modelDir} is not writable: env's disk probe writes its scratch file beside the model`, 2);
  log(`measuring the disk under ${diskDir} (env's probe) ...`);
  const disk = await measureDiskRead(diskDir);
  const limit = deviceReadLimit(disk);

  const cli = join(repoRoot(), 'dist', 'bench', 'cli.js');
  const common = ['profile', '--model', model, '--runs', '1', '--warmup', '1', '--prompt-tokens', String(promptTokens),
    '--max-new-tokens', String(maxNewTokens), '--no-measure-env', '--no-save', '--json'];
  const measurements: ColdMeasurement[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const mode of COLD_MODES) {
      const r = spawnSync(process.execPath, [cli, ...common, ...MODE_FLAGS[mode]], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
      if (r.status !== 0) throw new Error(`profile ${mode} failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
      const m = measurementOf(round, mode, parseProfileFile(JSON.parse(r.stdout), `the ${mode} profile`).summary);
      measurements.push(m);
      log(`[round ${round + 1}/${rounds}] ${mode}: read ${(m.bytes_read / 1e9).toFixed(2)} GB, device ${m.device_bytes_read === null ? 'n/a' : (m.device_bytes_read / 1e9).toFixed(2)} GB, ` +
        `${m.read_mb_per_s?.toFixed(0) ?? 'n/a'} MB/s, decode ${m.decode_tok_per_s?.toFixed(2) ?? 'n/a'} tok/s, ${m.verdict}`);
    }
  }

  const rows = coldRows(measurements);
  const file = {
    schema: 'rabbit-bench/bench-cold@1',
    created_at: new Date().toISOString(),
    wall_s: (performance.now() - t0) / 1e3,
    metadata,
    environment: await collectEnvironment({ measure: false }),
    engine: { build },
    settings: { model, rounds, prompt_tokens: promptTokens, max_new_tokens: maxNewTokens, runs: 1, warmup: 1 },
    disk: { ...disk, limit },
    measurements,
    rows,
  };
  const md = `# bench:cold\n\n${metadata.command}\n\n${coldMarkdown(rows, limit.mbps)}`;
  const csv = ['round,mode,bytes_read,device_bytes_read,read_mb_per_s,decode_tok_per_s,verdict',
    ...measurements.map((m) => [m.round, m.mode, m.bytes_read, m.device_bytes_read ?? '', m.read_mb_per_s ?? '', m.decode_tok_per_s ?? '', m.verdict].join(','))].join('\n') + '\n';
  const written = writeResultFiles(resolve(values.out!), resultStem('bench-cold', basename(plan.modelDir)), { json: file, csv, md });
  process.stdout.write(`${coldMarkdown(rows, limit.mbps)}wall ${file.wall_s.toFixed(0)} s · wrote ${written.json}, ${written.md}\n`);
  return 0;
}

await runCommand(main);
