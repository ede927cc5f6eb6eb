// --cold's scopes against what the disk really delivered (/proc/self/io read_bytes): under
// --cold=step the disk serves every step's loads; under --cold=run only the first step's.
import { copyFileSync, existsSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../bench/engine/native.js';
import { parseProfileFile } from '../../bench/results/read.js';
import type { ProfileFile } from '../../bench/results/profile-schema.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR } from '../helpers/paths.js';
import { synthSmolLm2 } from '../helpers/synth.js';
import { tempDirs } from '../helpers/temp.js';

const tempDir = tempDirs();
const TMPFS_MAGIC = 0x01021994;
const QUICK = ['--runs', '2', '--warmup', '0', '--max-new-tokens', '6', '--prompt-tokens', '8', '--no-measure-env', '--no-save', '--json'];

/** The model copied into a folder of our own: Linux shows page-cache residency only to a file's owner. */
function ownCopy(): string {
  const dir = tempDir('rb-cold-');
  for (const f of readdirSync(STORIES_DIR)) if (!f.endsWith('.md')) copyFileSync(join(STORIES_DIR, f), join(dir, f));
  return dir;
}

function whyNot(): string | null {
  if (!HAS_STORIES) return '../shared/models/stories260K is absent';
  if (!existsSync('/proc/self/io')) return 'the kernel does not count device bytes (/proc/self/io)';
  if (statfsSync(tempDir('rb-cold-probe-')).type === TMPFS_MAGIC) return 'the temporary folder is tmpfs: there is no disk to read';
  return null;
}
const skip = whyNot();

async function profile(model: string, ...args: string[]): Promise<ProfileFile> {
  const r = await runCli(['profile', '--model', model, ...QUICK, ...args]);
  expect(r.status, r.stderr).toBe(0);
  return parseProfileFile(JSON.parse(r.stdout), 'stdout');
}

/** Device bytes over bytes read, summed over the measured runs' steps. */
function deviceShare(doc: ProfileFile): number {
  let read = 0;
  let device = 0;
  for (const run of doc.runs) {
    for (const s of run.steps) {
      read += s.bytes_read.reduce((a, b) => a + b, 0);
      device += s.device_bytes_read!;
    }
  }
  return device / read;
}

describe.skipIf(skip !== null)(`profile --cold scopes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('--cold (=step): the disk delivers at least 90% of the bytes every run reads; the output says which scope ran', async () => {
    const model = ownCopy();
    const doc = await profile(model, '--cold');
    expect(doc.settings.cold).toBe('step');
    expect(doc.runs.every((r) => r.cache === 'cold-step')).toBe(true);
    expect(doc.runs.flatMap((r) => r.steps).every((s) => typeof s.device_bytes_read === 'number')).toBe(true);
    expect(deviceShare(doc)).toBeGreaterThanOrEqual(0.9);
    const summary = doc.summary as { cache: string; page_cache_share: number; verdict: { bottleneck: string; line: string } };
    expect(summary.cache).toBe('cold-step');
    expect(summary.page_cache_share).toBeLessThanOrEqual(0.1);
    // Every decode step reads from the disk again, not only the first.
    for (const run of doc.runs) for (const s of run.steps.slice(1)) expect(s.device_bytes_read!).toBeGreaterThan(0.5 * s.bytes_read.reduce((a, b) => a + b, 0));
    const table = await runCli(['profile', '--model', model, ...QUICK.filter((a) => a !== '--json'), '--cold=step']);
    expect(table.stdout).toMatch(/COLD per step \(--cold=step/);
    expect(table.stdout).toMatch(/the disk delivered [\d.]+ MiB per run: the page cache served \d+\.\d% of the bytes read/);
  });

  it('--cold=step on small tensors in large page-cache folios (SmolLM2-135M shape, 8 layers): nothing stays cached, every step reads the disk', async () => {
    const model = await synthSmolLm2(tempDir('rb-cold-smol-'), 8);
    const doc = await profile(model, '--cold');
    for (const run of doc.runs) {
      for (const s of run.steps) expect(s.device_bytes_read!).toBeGreaterThanOrEqual(0.9 * s.bytes_read.reduce((a, b) => a + b, 0));
    }
    // Dropped after every read: only the kernel's readahead past the last read (up to 8 MiB of
    // this 123 MB file here) stays cached; dropping by 4 KiB pages left 74% of a model cached.
    expect(loadAddon().pageCacheResidency(join(model, 'model.safetensors'))).toBeLessThan(0.1);
  });

  it('--cold=run reads the disk in the first step only, and says so; a warm profile reads it not at all', async () => {
    const model = ownCopy();
    const run = await profile(model, '--cold=run');
    expect(run.settings.cold).toBe('run');
    expect(run.runs.every((r) => r.cache === 'cold-run')).toBe(true);
    // Six steps, of which the first reads the disk: the page cache serves the rest.
    expect(deviceShare(run)).toBeLessThan(0.5);
    expect((run.summary as { verdict: { bottleneck: string } }).verdict.bottleneck).not.toBe('disk');
    const r = await runCli(['profile', '--model', model, ...QUICK, '--cold=run']);
    expect(r.stderr).toMatch(/under --cold the page cache still served \d+% of the bytes read: --cold=run reads the disk in the first step only/);
    const warm = await profile(model);
    expect(warm.settings.cold).toBe(false);
    expect(deviceShare(warm)).toBeLessThan(0.05);
    expect((warm.summary as { page_cache_share: number }).page_cache_share).toBeGreaterThan(0.95);
  });
});

describe('--cold option', () => {
  it.skipIf(!HAS_STORIES)('an unknown scope exits 2 naming the two', async () => {
    const r = await runCli(['profile', '--model', STORIES_DIR, '--cold=disk', '--no-save']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--cold must be 'step' \(the default\) or 'run', not "disk"/);
  });

  it.skipIf(!HAS_STORIES)('files from before the scopes read as --cold=run, without device bytes', async () => {
    const doc = await profile(STORIES_DIR);
    const old = structuredClone(doc) as unknown as { settings: { cold: unknown }; runs: { cache: string; steps: Record<string, unknown>[] }[] };
    old.settings.cold = true;
    for (const run of old.runs) {
      run.cache = 'cold';
      for (const s of run.steps) delete s.device_bytes_read;
    }
    const read = parseProfileFile(old, 'old.json');
    expect(read.settings.cold).toBe('run');
    expect(read.runs.every((r) => r.cache === 'cold-run')).toBe(true);
    expect(read.runs[0].steps[0].device_bytes_read).toBeUndefined();
  });
});
