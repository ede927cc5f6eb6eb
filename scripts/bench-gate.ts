// npm run bench:gate — how often the gate flags known slowdowns, and how often it cries wolf.
// Each trial measures a fresh baseline, then runs `rabbit-bench gate` as a user would (a child
// process measuring adaptively) with the engine slowed by X% through the calibration knob.
// Conditions are interleaved so drifts in machine load hit all of them alike.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot } from '../bench/paths.js';
import { ensureDefaultModel } from '../bench/profile/default-model.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const trials = Number(flag('trials', '20'));
const threshold = flag('threshold', '5%');
const baselineRuns = flag('baseline-runs', '15');
const slowdowns = flag('slowdowns', '0,5,10,20').split(',').map(Number);
const model = flag('model', '') || ensureDefaultModel((l) => process.stderr.write(`${l}\n`));
const workload = ['--resident', '--max-new-tokens', '8', '--prompt-tokens', '16'];
const cli = join(repoRoot(), 'dist', 'bench', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'rb-bench-gate-'));

function run(argv: string[], env: Record<string, string> = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, seconds: (performance.now() - t0) / 1000, stderr: r.stderr };
}

interface Outcome { slowdown: number; flagged: boolean; status: number | null; seconds: number }
const outcomes: Outcome[] = [];
for (let t = 0; t < trials; t++) {
  for (const slowdown of slowdowns) {
    const dir = join(work, `t${t}-${slowdown}`);
    const base = run(['profile', '--model', model, ...workload, '--runs', baselineRuns, '--no-measure-env', '--out', dir]);
    if (base.status !== 0) throw new Error(`baseline failed: ${base.stderr}`);
    const baseline = join(dir, readdirSync(dir).find((f) => f.endsWith('.json'))!);
    const gate = run(['gate', '--baseline', baseline, '--threshold', threshold, '--no-save'], { RABBIT_BENCH_SLOWDOWN_PERCENT: String(slowdown) });
    if (gate.status !== 0 && gate.status !== 1) throw new Error(`gate error (exit ${gate.status}): ${gate.stderr}`);
    outcomes.push({ slowdown, flagged: gate.status === 1, status: gate.status, seconds: gate.seconds });
    process.stderr.write(`trial ${t + 1}/${trials} slowdown ${slowdown}%: ${gate.status === 1 ? 'FLAGGED' : 'passed'} in ${gate.seconds.toFixed(0)} s\n`);
    rmSync(dir, { recursive: true, force: true });
  }
}
rmSync(work, { recursive: true, force: true });

const rows = slowdowns.map((s) => {
  const these = outcomes.filter((o) => o.slowdown === s);
  const flagged = these.filter((o) => o.flagged).length;
  const secs = these.map((o) => o.seconds).sort((a, b) => a - b);
  return { slowdown: s, trials: these.length, flagged, rate: flagged / these.length, median_s: secs[Math.floor(secs.length / 2)], max_s: secs[secs.length - 1] };
});
const table = ['| injected slowdown | trials | flagged | rate | gate run median / max |', '| --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.slowdown === 0 ? 'none' : `${r.slowdown}%`} | ${r.trials} | ${r.flagged} | ${(100 * r.rate).toFixed(0)}% | ${r.median_s.toFixed(0)} s / ${r.max_s.toFixed(0)} s |`)].join('\n');
process.stdout.write(`${table}\n`);
writeFileSync(join(repoRoot(), 'results', 'bench-gate.json'), `${JSON.stringify({ created_at: new Date().toISOString(), threshold, trials, baselineRuns, workload, model, rows, outcomes }, null, 1)}\n`);
