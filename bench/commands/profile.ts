// `rabbit-bench profile`: where the time goes, per token and per layer — disk, copy or compute.
import { basename } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { InferenceEngine } from '../engine/engine.js';
import { loadAddon, type NativeAddon } from '../engine/native.js';
import { UserError } from '../errors.js';
import { buildLoadPlan } from '../model/plan.js';
import { ensureDefaultModel } from '../synth/models.js';
import { measureRuns } from '../profile/measure.js';
import { tokenProgress } from '../profile/progress.js';
import { workloadPrompt } from '../profile/prompt.js';
import { DEFAULT_TOP_LAYERS, profileReport } from '../profile/render.js';
import { buildProfileFile } from '../profile/result.js';
import { render, saveReport } from '../report/print.js';
import { cacheMode, type ColdScope } from '../results/profile-schema.js';
import type { ProfileSummary } from '../profile/summary.js';
import { collectEnvironment, runMetadata } from '../env/environment.js';
import { requireCuda } from '../cuda/status.js';
import { vramSummary } from '../cuda/vram.js';
import { expertOptions, ioOption, outputFormat, threadsOption, withExpertOptions, withMeasureOptions } from './options.js';
import { runCommand } from './run.js';
import { checkTracePath, chromeTrace, saveTrace } from '../trace/chrome-trace.js';
import { writableDir } from '../paths.js';
import { prepareOutDir } from '../results/files.js';

function builder(y: Argv) {
  return withExpertOptions(withMeasureOptions(y))
    .option('model', { type: 'string', describe: 'local HF model folder or Hub repo id; default: a synthesised SmolLM2-135M-shaped bf16 model' })
    .option('device', { choices: ['cpu', 'cuda'] as const, default: 'cpu' as const, describe: 'cuda needs the CUDA backend library, an NVIDIA driver and a GPU' })
    .option('runs', { type: 'number', default: 3, describe: 'measured runs' })
    .option('warmup', { type: 'number', default: 1, describe: 'unmeasured runs first' })
    .option('resident', { type: 'boolean', default: false, describe: 'keep every layer after its first load' })
    .option('threads', threadsOption('compute threads (0 = one per hardware thread)'))
    .option('io', ioOption)
    .option('cold', {
      type: 'string',
      describe: 'read the model from the disk, not the page cache: --cold (=step) evicts every unit after each read, ' +
        'as a model larger than RAM streams; --cold=run evicts the files before each run only',
      coerce: coldScope,
    })
    .option('top-layers', { type: 'number', default: DEFAULT_TOP_LAYERS, describe: 'units shown in the per-layer table' })
    .option('html', { type: 'boolean', default: false, describe: 'also write the report as a self-contained HTML page (charts) beside the JSON' })
    .option('trace', { type: 'string', describe: 'also write every run\'s timeline to this file (Chrome Trace Event Format: open it in ui.perfetto.dev or chrome://tracing)' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

/** A bare --cold is step: what a model larger than RAM experiences. */
function coldScope(v: string | boolean | undefined): ColdScope | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === '' || v === true || v === 'step') return 'step';
  if (v === 'run') return 'run';
  throw new UserError(`--cold must be 'step' (the default) or 'run', not ${JSON.stringify(v)}`, 2);
}

function checkCounts(a: Args): void {
  for (const [name, v, min] of [['--runs', a.runs, 1], ['--warmup', a.warmup, 0], ['--top-layers', a.topLayers, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new UserError(`${name} must be a whole number >= ${min}`, 2);
  }
  if (a.device === 'cuda') requireCuda('--device cuda');
  if (a.html && !a.save) throw new UserError('--html writes the page beside the result files: drop --no-save', 2);
  if (a.resident && a.cold) throw new UserError('--cold measures disk reads, but --resident reads each layer only once: pick one', 2);
}

async function handler(a: Args): Promise<number> {
  checkCounts(a);
  // A result that cannot be saved is found out before the measuring, not after it.
  if (a.save) prepareOutDir(a.out);
  if (a.trace !== undefined) checkTracePath(a.trace);
  const format = outputFormat(a);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const plan = buildLoadPlan(a.model ?? ensureDefaultModel(log));
  const cold: false | ColdScope = a.cold ?? false;
  for (const w of plan.warnings) log(`rabbit-bench: warning: ${w}`);
  const promptIds = await workloadPrompt(plan.source, plan.spec.vocabSize, a);
  const metadata = runMetadata(process.argv);
  const addon = loadAddon();
  const engine = InferenceEngine.open(plan, { device: a.device, pinMemory: a.pinMemory, asyncTransfer: a.asyncTransfer, prefetch: a.prefetch, resident: a.resident, dropAfterRead: cold === 'step', io: a.io, threads: a.threads, ...expertOptions(a) });
  const progress = tokenProgress((a.warmup + a.runs) * a.maxNewTokens, format === 'table' || format === 'md');
  const backend = engine.backend;
  let measuredRuns;
  try {
    measuredRuns = await measureRuns(engine, {
      promptIds,
      maxNewTokens: a.maxNewTokens,
      runs: a.runs,
      warmup: a.warmup,
      cache: cacheMode(cold),
      evict: cold ? () => evictOrWarn(addon, plan.files, log) : undefined,
      onToken: () => progress.tick(),
      trace: a.trace !== undefined,
    });
  } finally {
    progress.stop();
    engine.close();
  }
  // After the runs: the bandwidth probes allocate ~1 GiB, which would otherwise show as the
  // engine's peak RSS. Disk bandwidth is measured where the model lives when we may write
  // there, since that is the disk load_safe_tensor reads from.
  const environment = await collectEnvironment({ measure: a.measureEnv, diskDir: writableDir(plan.modelDir) });
  const experts = plan.spec.moe ? { streaming: a.expertStreaming, cache_bytes: engine.options.expertCacheBytes } : null;
  const settings = { device: a.device, prefetch: a.prefetch, resident: a.resident, cold, io: a.io, experts, threads: a.threads,
    prompt_tokens: promptIds.length, max_new_tokens: a.maxNewTokens, runs: a.runs, warmup: a.warmup };
  const file = buildProfileFile({ plan, settings, promptIds, runs: measuredRuns.runs, unitNames: measuredRuns.unitNames, metadata, environment, backend, build: addon.buildInfo() });
  // CUDA: peak and per-unit device memory, kept beside the summary's statistics.
  const vram = engine.deviceStats ? vramSummary(engine.deviceStats) : undefined;
  if (vram) file.summary.vram = vram;
  const summary = file.summary;
  if (cold) warnIfNotCold(summary, log);
  if (a.trace !== undefined) {
    saveTrace(a.trace, chromeTrace(measuredRuns.traces, { metadata, machine: environment.machine_fingerprint, build: addon.buildInfo(), backend, model: file.model.name }));
    if (format !== 'json') log(`wrote ${a.trace} (open in ui.perfetto.dev or chrome://tracing)`);
  }
  const report = profileReport(file, a.topLayers);
  const written = a.save ? saveReport(report, a.out, file.model.name, a.html ? ['json', 'csv', 'md', 'html'] : ['json', 'csv', 'md']) : undefined;
  process.stdout.write(render(report, format));
  if (written && format !== 'json') log(`wrote ${Object.values(written).join(', ')}`);
  return 0;
}

/** Under --cold, the disk should deliver at least this share of the bytes read. */
const COLD_DEVICE_SHARE = 0.9;

let warnedNotCold = false;

/** Evicts the model files; says so once if the kernel kept them cached (tmpfs, or not verifiable). */
async function evictOrWarn(addon: NativeAddon, files: string[], log: (line: string) => void): Promise<void> {
  const results = await addon.evictFromPageCache(files);
  const notCold = results.filter((r) => r.status !== 'evicted');
  if (notCold.length > 0 && !warnedNotCold) {
    warnedNotCold = true;
    log(`rabbit-bench: warning: --cold could not verify eviction of ${notCold.map((r) => `${basename(r.file)} (${r.status})`).join(', ')}; load times may include page-cache hits`);
  }
}

/** The bytes the profile reports should be the disk's under --cold; say so when the page cache served them. */
function warnIfNotCold(s: ProfileSummary, log: (line: string) => void): void {
  if (s.page_cache_share === null || s.page_cache_share <= 1 - COLD_DEVICE_SHARE) return;
  const hint = s.cache === 'cold-run' ? ': --cold=run reads the disk in the first step only; --cold (=step) reads it in every step'
    : ': the kernel kept the pages it was asked to drop (tmpfs? pages mapped by another process?)';
  log(`rabbit-bench: warning: under --cold the page cache still served ${(100 * s.page_cache_share).toFixed(0)}% of the bytes read${hint}`);
}

export const profileCommand: CommandModule<object, Args> = {
  command: 'profile',
  describe: 'profile where the time goes per token and per layer (disk, copy or compute)',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
