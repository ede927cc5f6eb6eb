// npm run bench:gate — how often the gate flags known slowdowns, and how often it cries wolf.
// Each trial runs `rabbit-bench gate` as a user would (a child process measuring adaptively),
// with the build under test slowed by X% through the calibration knob. By default the gate runs
// as a pull request should use it: with --baseline-engine, the base build measured beside the
// current one, run for run (here the same build, unslowed). --mode=file instead compares with a
// baseline file recorded just before each trial: the mode whose drift this script exposed.
// Conditions are interleaved so changes in machine load hit all of them alike.
import { markdownTables } from '../bench/report/printers/markdown.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot } from '../bench/paths.js';
import { ensureDefaultModel } from '../bench/synth/models.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const trials = Number(flag('trials', '20'));
const threshold = flag('threshold', '5%');
const baselineRuns = flag('baseline-runs', '15');
const slowdowns = flag('slowdowns', '0,5,10,20').split(',').map(Number);
const mode = flag('mode', 'interleaved');
if (mode !== 'interleaved' && mode !== 'file') throw new Error(`--mode must be interleaved or file, not ${mode}`);
const addon = join(repoRoot(), 'build', 'Release', 'rabbit_native.node');
const model = flag('model', '') || ensureDefaultModel((l) => process.stderr.write(`${l}\n`));
const workload = ['--resident', '--max-new-tokens', '8', '--prompt-tokens', '16'];
const cli = join(repoRoot(), 'dist', 'bench', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'rb-bench-gate-'));

function run(argv: string[], env: Record<string, string> = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, seconds: (performance.now() - t0) / 1000, stdout: r.stdout, stderr: r.stderr };
}

function recordBaseline(dir: string, runs: string): string {
  const base = run(['profile', '--model', model, ...workload, '--runs', runs, '--no-measure-env', '--out', dir]);
  if (base.status !== 0) throw new Error(`baseline failed: ${base.stderr}`);
  return join(dir, readdirSync(dir).find((f) => f.endsWith('.json'))!);
}

interface Outcome { slowdown: number; flagged: boolean; status: number | null; seconds: number; change: number | null }
const outcomes: Outcome[] = [];
// Interleaved: the file only supplies workload, prompt and machine, so one short recording serves.
const shared = mode === 'interleaved' ? recordBaseline(join(work, 'baseline'), '3') : undefined;
for (let t = 0; t < trials; t++) {
  for (const slowdown of slowdowns) {
    const dir = join(work, `t${t}-${slowdown}`);
    const baseline = shared ?? recordBaseline(dir, baselineRuns);
    const gateArgs = ['gate', '--baseline', baseline, '--threshold', threshold, '--no-save', '--format', 'json', ...(shared ? ['--baseline-engine', addon] : [])];
    const gate = run(gateArgs, { RABBIT_BENCH_SLOWDOWN_PERCENT: String(slowdown) });
    if (gate.status !== 0 && gate.status !== 1) throw new Error(`gate error (exit ${gate.status}): ${gate.stderr}`);
    const cpu = (JSON.parse(gate.stdout) as { diff: { headline: { id: string; change: number }[] } }).diff.headline.find((m) => m.id === 'cpu_ms');
    const change = cpu ? cpu.change : null;
    outcomes.push({ slowdown, flagged: gate.status === 1, status: gate.status, seconds: gate.seconds, change });
    process.stderr.write(`trial ${t + 1}/${trials} slowdown ${slowdown}%: ${gate.status === 1 ? 'FLAGGED' : 'passed'} in ${gate.seconds.toFixed(0)} s (CPU time ${change === null ? '?' : `${(100 * change).toFixed(1)}%`})\n`);
    if (!shared) rmSync(dir, { recursive: true, force: true });
  }
}
rmSync(work, { recursive: true, force: true });

const rows = slowdowns.map((s) => {
  const these = outcomes.filter((o) => o.slowdown === s);
  const flagged = these.filter((o) => o.flagged).length;
  const secs = these.map((o) => o.seconds).sort((a, b) => a - b);
  return { slowdown: s, trials: these.length, flagged, rate: flagged / these.length, median_s: secs[Math.floor(secs.length / 2)], max_s: secs[secs.length - 1] };
});
process.stdout.write(`${markdownTables([{
  title: `Detection rate (threshold ${threshold})`,
  head: ['injected slowdown', 'trials', 'flagged', 'rate', 'gate run median / max'],
  rows: rows.map((r) => [r.slowdown === 0 ? 'none' : `${r.slowdown}%`, String(r.trials), String(r.flagged), `${(100 * r.rate).toFixed(0)}%`,
    `${r.median_s.toFixed(0)} s / ${r.max_s.toFixed(0)} s`]),
}])}\n`);
writeFileSync(join(repoRoot(), 'results', `bench-gate${mode === 'file' ? '-file' : ''}.json`), `${JSON.stringify({ created_at: new Date().toISOString(), mode, threshold, trials, baselineRuns, workload, model, rows, outcomes }, null, 1)}\n`);
