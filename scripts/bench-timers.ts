// npm run bench:timers — what the always-on instrumentation costs: the engine with its timers
// compiled in vs compiled out (-DRB_TIMERS=OFF), interleaved A/B in fresh child processes on
// the same model, compared as the median of per-round ratios with a bootstrap interval.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadAddon } from '../bench/engine/native.js';
import { buildLoadPlan } from '../bench/model/plan.js';
import { median, quantile } from '../bench/stats.js';
import { repoRoot } from '../bench/paths.js';

const root = repoRoot();
const withTimers = join(root, 'build', 'Release', 'rabbit_native.node');
const withoutTimers = join(root, 'build-notimers', 'Release', 'rabbit_native.node');

function buildWithoutTimers(): void {
  if (existsSync(withoutTimers)) return;
  process.stderr.write('building the engine with timers compiled out into build-notimers/ ...\n');
  const r = spawnSync('npx', ['cmake-js', 'compile', '--directory', 'native', '--out', 'build-notimers', '--CDRB_TIMERS=OFF', '--CDRB_CUDA=OFF'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('cmake-js build without timers failed');
}

/** Clock readings per step: ~10 per unit (load, wait, create, forward, kv_fill) plus the step's own. */
const READS_PER_UNIT = 10;
const READS_PER_STEP = 10;

function timed(addon: string, model: string, tokens: number, reps: number, mode: string): { timers: boolean; wall: number } {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'scripts', 'timed-generate.js'), model, String(tokens), String(reps), mode], {
    env: { ...process.env, RABBIT_BENCH_ADDON: addon },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`timed run failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { timers: boolean; walls: number[] };
  return { timers: out.timers, wall: median(out.walls) };
}

/** 95% bootstrap interval of the median of `xs`. */
function bootstrapMedian(xs: number[], resamples = 5000): [number, number] {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const medians = Array.from({ length: resamples }, () => median(xs.map(() => xs[Math.floor(rand() * xs.length)])));
  return [quantile(medians, 0.025), quantile(medians, 0.975)];
}

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const rounds = flag('rounds', 16);
const tokens = flag('tokens', 256);
const reps = flag('reps', 5);
const models = args.filter((a) => !a.startsWith('--'));
if (models.length === 0) models.push(join(root, '..', 'shared', 'models', 'stories260K'));

buildWithoutTimers();
const clockCost = loadAddon().clockReadCostNs();
for (const model of models) {
  for (const mode of ['streaming', 'resident'] as const) {
    const ratios: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate which build goes first so drifts in machine load cancel.
      const pair = i % 2 === 0 ? [withTimers, withoutTimers] : [withoutTimers, withTimers];
      const [a, b] = pair.map((addon) => timed(addon, model, tokens, reps, mode));
      const on = a.timers ? a : b;
      const off = a.timers ? b : a;
      if (on.timers === off.timers) throw new Error('both builds report the same timers setting');
      ratios.push(on.wall / off.wall);
    }
    const [lo, hi] = bootstrapMedian(ratios);
    const pct = (x: number) => `${((x - 1) * 100).toFixed(2)}%`;
    // The A/B interval is limited by machine noise; the analytic bound is not.
    const units = buildLoadPlan(model).spec.numLayers + 2;
    const readsPerToken = READS_PER_UNIT * units + READS_PER_STEP;
    const stepMs = timed(withTimers, model, tokens, reps, mode).wall / tokens;
    const boundPct = (100 * readsPerToken * clockCost) / (stepMs * 1e6);
    process.stdout.write(`${model.split('/').pop()} ${mode}: timers on/off wall ratio median ${median(ratios).toFixed(4)} ` +
      `(overhead ${pct(median(ratios))}, 95% CI ${pct(lo)} .. ${pct(hi)}, ${rounds} interleaved rounds of ${reps} × ${tokens} tokens); ` +
      `analytic bound: ${readsPerToken} clock reads × ${clockCost.toFixed(1)} ns per ${stepMs.toFixed(2)} ms token = ${boundPct.toFixed(4)}%\n`);
  }
}
