// npm run bench:moe — expert streaming against whole-layer streaming on a mixture-of-experts shape:
// `rabbit-bench profile` of one synthetic checkpoint in each mode (expert streaming with several
// expert-cache sizes, --no-expert-streaming, --resident), interleaved in rounds (round r runs
// every mode once, each in a child process of its own), with the bytes a decode step reads, the
// decode speed and the expert statistics of every run, and ratios to whole-layer streaming.
//
//   npm run bench:moe -- [--shape qwen3-30b-a3b] [--layers 2] [--caches 0,64,256,1024]
//                        [--rounds 2] [--prompt-tokens 32] [--decode-tokens 16] [--out results/moe]
import type { ReportTable } from '../bench/report/report.js';
import { markdownTables } from '../bench/report/printers/markdown.js';
import { terminalTables } from '../bench/report/printers/table.js';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseBenchArgs } from '../bench/bench-args.js';
import { runCommand } from '../bench/commands/run.js';
import { loadAddon } from '../bench/engine/native.js';
import { collectEnvironment, runMetadata } from '../bench/env/environment.js';
import { UserError } from '../bench/errors.js';
import type { ExpertStats } from '../bench/profile/experts.js';
import { resultStem, writeResultFiles } from '../bench/results/files.js';
import { parseProfileFile } from '../bench/results/read.js';
import { ensureShapeModel } from '../bench/synth/models.js';
import { shapeConfig } from '../bench/synth/shapes.js';
import { median } from '../bench/stats.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Mode {
  name: string;
  args: string[];
}

interface Measurement {
  round: number;
  mode: string;
  error: string | null;
  decode_tok_s: number | null;
  ttft_ms: number | null;
  bytes_per_decode_step: number | null;
  /** Bytes of each decoder layer read per decode step over its bytes, largest of the layers. */
  max_layer_read_share: number | null;
  peak_rss_bytes: number | null;
  experts: ExpertStats | null;
  verdict: string | null;
}

function modes(caches: number[]): Mode[] {
  return [
    ...caches.map((c) => ({ name: `experts, cache ${c} MiB`, args: ['--expert-cache', String(c)] })),
    { name: 'experts, cache 0 MiB, no prefetch', args: ['--expert-cache', '0', '--no-prefetch'] },
    { name: 'whole layers', args: ['--no-expert-streaming'] },
    { name: 'resident', args: ['--resident'] },
  ];
}

function profile(model: string, mode: Mode, promptTokens: number, decodeTokens: number): Omit<Measurement, 'round' | 'mode'> {
  const args = ['dist/bench/cli.js', 'profile', '--model', model, '--runs', '1', '--warmup', '1', '--prompt-tokens', String(promptTokens),
    '--max-new-tokens', String(decodeTokens + 1), '--json', '--no-save', '--no-measure-env', ...mode.args];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  const none = { decode_tok_s: null, ttft_ms: null, bytes_per_decode_step: null, max_layer_read_share: null, peak_rss_bytes: null, experts: null, verdict: null };
  if (r.status !== 0) return { ...none, error: `exit ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').pop()}` };
  const summary = parseProfileFile(JSON.parse(r.stdout), 'the profile').summary;
  const layerShares = summary.layers.flatMap((l) => (l.name.startsWith('layers.') && l.unit_bytes ? [l.bytes_per_decode_step / l.unit_bytes] : []));
  return {
    error: null,
    decode_tok_s: summary.decode.tok_per_s?.median ?? null,
    ttft_ms: summary.prefill.ttft_ms.median,
    bytes_per_decode_step: summary.bytes_per_decode_step,
    max_layer_read_share: Math.max(...layerShares),
    peak_rss_bytes: summary.peak_rss_bytes,
    experts: summary.experts,
    verdict: summary.verdict.line,
  };
}

interface Row {
  mode: string;
  decode_tok_s: number | null;
  /** Median over rounds of this mode's decode tok/s over whole-layer streaming's in the same round. */
  vs_whole_layers: number | null;
  mib_per_decode_step: number | null;
  max_layer_read_share: number | null;
  cache_hit_rate: number | null;
  prefetch_accuracy: number | null;
  expert_wait_ms: number | null;
  peak_rss_mib: number | null;
}

function aggregate(all: Mode[], measurements: Measurement[]): Row[] {
  const ok = measurements.filter((m) => m.error === null);
  const whole = (round: number) => ok.find((m) => m.round === round && m.mode === 'whole layers')?.decode_tok_s ?? null;
  const med = (xs: (number | null | undefined)[]) => {
    const v = xs.filter((x): x is number => x !== null && x !== undefined);
    return v.length > 0 ? median(v) : null;
  };
  return all.map((mode) => {
    const mine = ok.filter((m) => m.mode === mode.name);
    return {
      mode: mode.name,
      decode_tok_s: med(mine.map((m) => m.decode_tok_s)),
      vs_whole_layers: med(mine.map((m) => (m.decode_tok_s !== null && whole(m.round) ? m.decode_tok_s / whole(m.round)! : null))),
      mib_per_decode_step: med(mine.map((m) => (m.bytes_per_decode_step === null ? null : m.bytes_per_decode_step / 2 ** 20))),
      max_layer_read_share: med(mine.map((m) => m.max_layer_read_share)),
      cache_hit_rate: med(mine.map((m) => m.experts?.cache_hit_rate)),
      prefetch_accuracy: med(mine.map((m) => m.experts?.prefetch_accuracy)),
      expert_wait_ms: med(mine.map((m) => m.experts?.wait_ms_per_step)),
      peak_rss_mib: med(mine.map((m) => (m.peak_rss_bytes === null ? null : m.peak_rss_bytes / 2 ** 20))),
    };
  });
}

function modeTable(rows: Row[]): ReportTable {
  const f = (x: number | null, d = 1) => (x === null ? 'n/a' : x.toFixed(d));
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  return {
    title: 'Streaming modes (medians over rounds)',
    head: ['mode', 'decode tok/s', 'vs whole layers', 'MiB / decode step', 'largest layer share read', 'expert cache hit rate', 'prefetch guess right',
      'expert wait ms / step', 'peak RSS MiB'],
    rows: rows.map((r) => [r.mode, f(r.decode_tok_s, 2), `${f(r.vs_whole_layers, 2)}×`, f(r.mib_per_decode_step), pct(r.max_layer_read_share),
      pct(r.cache_hit_rate), pct(r.prefetch_accuracy), f(r.expert_wait_ms, 2), f(r.peak_rss_mib, 0)]),
  };
}

async function main(): Promise<number> {
  const started = new Date();
  const t0 = performance.now();
  const { numbers, strings } = parseBenchArgs({ layers: 2, rounds: 2, 'prompt-tokens': 32, 'decode-tokens': 16 },
    { shape: 'qwen3-30b-a3b', caches: '0,64,256,1024', out: 'results/moe' });
  const { layers, rounds, 'prompt-tokens': promptTokens, 'decode-tokens': decodeTokens } = numbers;
  const caches = strings.caches!.split(',').map(Number);
  if (caches.some((c) => !Number.isInteger(c) || c < 0)) throw new UserError('--caches must be MiB counts >= 0, comma-separated', 2);
  const shape = strings.shape!;
  if (!shapeConfig(shape).num_experts && !shapeConfig(shape).num_local_experts) throw new UserError(`${shape} is not a mixture-of-experts shape`, 2);
  const model = ensureShapeModel({ shape, layers, dtype: 'bfloat16' }, log).path;
  const metadata = runMetadata(process.argv, started);
  const build = loadAddon().buildInfo();
  const all = modes(caches);
  const measurements: Measurement[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const mode of all) {
      const m: Measurement = { round, mode: mode.name, ...profile(model, mode, promptTokens, decodeTokens) };
      measurements.push(m);
      log(`[${measurements.length}/${rounds * all.length}] round ${round + 1} ${mode.name}: ` +
        (m.error ?? `decode ${m.decode_tok_s!.toFixed(2)} tok/s · ${(m.bytes_per_decode_step! / 2 ** 20).toFixed(1)} MiB per decode step`));
    }
  }
  const rows = aggregate(all, measurements);
  const environment = await collectEnvironment({ measure: false });
  const file = {
    schema: 'rabbit-bench/bench-moe@1',
    created_at: new Date().toISOString(),
    wall_s: (performance.now() - t0) / 1e3,
    metadata,
    environment,
    engine: { build },
    settings: { shape, layers, caches_mib: caches, rounds, prompt_tokens: promptTokens, decode_tokens: decodeTokens, model },
    modes: all,
    measurements,
    rows,
  };
  const md = `# bench:moe\n\n${metadata.command}\n\n${shape}, ${layers} layers, bf16; prompt ${promptTokens} tokens, ${decodeTokens} decode steps per run, ${rounds} rounds\n\n${markdownTables([modeTable(rows)])}\n`;
  const csv = ['mode,round,decode_tok_s,bytes_per_decode_step,max_layer_read_share,cache_hit_rate,prefetch_accuracy,error',
    ...measurements.map((m) => [JSON.stringify(m.mode), m.round, m.decode_tok_s ?? '', m.bytes_per_decode_step ?? '', m.max_layer_read_share ?? '',
      m.experts?.cache_hit_rate ?? '', m.experts?.prefetch_accuracy ?? '', JSON.stringify(m.error ?? '')].join(','))].join('\n') + '\n';
  const written = writeResultFiles(resolve(strings.out!), resultStem('bench-moe', `${shape}-l${layers}`), { json: file, csv, md });
  process.stdout.write(`${terminalTables([modeTable(rows)])}\nwall ${file.wall_s.toFixed(0)} s · wrote ${written.json}, ${written.md}\n`);
  return measurements.some((m) => m.error !== null) ? 1 : 0;
}

await runCommand(main);
