// --io: pread, mmap and direct read the same bytes, so they give bit-identical logits, on files
// written by this project and by llama.cpp (GGUF tensors at 32-byte, not page, alignment);
// direct reads the device even when the page cache holds the file; mmap unmaps what it read,
// so the page cache can be emptied between runs; modes a backend cannot use are refused.
import { closeSync, constants, copyFileSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../bench/engine/engine.js';
import { IO_MODES, loadAddon, type IoMode } from '../../bench/engine/native.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import type { LoadPlan } from '../../bench/model/types.js';
import { runCli } from '../helpers/cli.js';
import { HAS_SHARED_GGUF, QUANT_SAMPLES_DIR, SHARED_GGUF_SUITE, STORIES_GGUF_DIR } from '../helpers/paths.js';
import { synthSmolLm2 } from '../helpers/synth.js';
import { tempDirs } from '../helpers/temp.js';

const tempDir = tempDirs();

/** Whether the filesystem of `dir` refuses O_DIRECT (tmpfs does on some kernels). */
function refusesDirect(dir: string): boolean {
  const probe = mkdtempSync(join(dir, 'rb-direct-'));
  try {
    const file = join(probe, 'f');
    writeFileSync(file, 'x');
    closeSync(openSync(file, constants.O_RDONLY | constants.O_DIRECT));
    return false;
  } catch {
    return true;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const TMP_DIRECT = !refusesDirect(tmpdir());
const DIRECT_SKIP = TMP_DIRECT ? '' : ` (skipped: ${tmpdir()} refuses O_DIRECT)`;

async function run(plan: LoadPlan, io: IoMode, opts: { resident?: boolean; dropAfterRead?: boolean } = {}) {
  const engine = InferenceEngine.open(plan, { io, ...opts });
  try {
    const promptIds = Array.from({ length: 12 }, (_, i) => (i * 37 + 1) % plan.spec.vocabSize);
    return await engine.generate({ promptIds, maxNewTokens: 4, logits: 'all', stopOnEos: false });
  } finally {
    engine.close();
  }
}
const logitsOf = (r: Awaited<ReturnType<typeof run>>) => r.logits.map((l) => Array.from(l));

describe('--io modes', () => {
  let smol: LoadPlan;
  beforeAll(async () => {
    const model = await synthSmolLm2(tempDir('rb-io-'), 2);
    smol = buildLoadPlan(model);
  }, 120_000);

  it(`every mode gives the same tokens and logits, streamed and resident${DIRECT_SKIP ? ' (direct skipped: O_DIRECT refused)' : ''}`, async () => {
    const reference = await run(smol, 'pread');
    for (const io of IO_MODES.filter((m) => TMP_DIRECT || m !== 'direct')) {
      for (const resident of [false, true]) {
        const r = await run(smol, io, { resident });
        expect(r.tokens, `${io} resident=${resident}`).toEqual(reference.tokens);
        expect(logitsOf(r), `${io} resident=${resident}`).toEqual(logitsOf(reference));
      }
    }
  });

  it.skipIf(!TMP_DIRECT)(`direct reads the device in every step although the page cache holds the file; pread does not${DIRECT_SKIP}`, async () => {
    await run(smol, 'pread'); // leaves the file cached
    // Whole runs: the prefetch thread's reads for the next step count in the step they happen in.
    const share = (r: Awaited<ReturnType<typeof run>>) => {
      const read = r.steps.reduce((a, s) => a + s.units.reduce((b, u) => b + u.bytesRead, 0), 0);
      return r.steps.reduce((a, s) => a + s.deviceBytesRead!, 0) / read;
    };
    expect(share(await run(smol, 'direct'))).toBeGreaterThanOrEqual(0.9);
    expect(share(await run(smol, 'pread'))).toBeLessThan(0.1);
  });

  it('mmap leaves nothing mapped after a streamed generation: the files can be evicted', async () => {
    await run(smol, 'mmap', { dropAfterRead: true });
    const [evicted] = await loadAddon().evictFromPageCache(smol.files);
    expect(evicted.status).toBe('evicted');
  });

  it('mmap and direct are refused where units go to a device backend, naming why', () => {
    for (const io of ['mmap', 'direct'] as const) {
      expect(() => InferenceEngine.open(smol, { io, emulateDevice: true })).toThrow(`--io ${io} runs on the CPU only`);
    }
  });

  it('the CLI records and prints the mode; an unknown mode exits 2', async () => {
    const r = await runCli(['profile', '--model', smol.modelDir, '--io', 'mmap', '--runs', '1', '--warmup', '0', '--max-new-tokens', '2', '--prompt-tokens', '8', '--no-save', '--no-measure-env', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).settings.io).toBe('mmap');
    const table = await runCli(['profile', '--model', smol.modelDir, '--io', 'mmap', '--runs', '1', '--warmup', '0', '--max-new-tokens', '2', '--prompt-tokens', '8', '--no-save', '--no-measure-env']);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toContain('streaming + prefetch (--io mmap)');
    const bad = await runCli(['generate', '--model', smol.modelDir, '--io', 'aio', '--prompt', 'x']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Invalid values:[\s\S]*io/);
  });
});

describe.skipIf(!HAS_SHARED_GGUF)(`--io on GGUF ${SHARED_GGUF_SUITE}`, () => {
  const SHM = '/dev/shm';
  const shmRefuses = existsSync(SHM) && refusesDirect(SHM);
  it.skipIf(!shmRefuses)(`direct on a filesystem that refuses O_DIRECT is a clear error, not a crash${shmRefuses ? '' : ' (skipped: no /dev/shm that refuses O_DIRECT)'}`, async () => {
    const dir = mkdtempSync(join(SHM, 'rb-io-'));
    try {
      const copy = join(dir, 'stories260K-f16.gguf');
      copyFileSync(join(STORIES_GGUF_DIR, 'stories260K-f16.gguf'), copy);
      await expect(run(buildLoadPlan(copy), 'direct')).rejects.toThrow(/--io direct: the filesystem of .* refuses O_DIRECT \(tmpfs does on some kernels\): use --io pread or mmap/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const file of [join(STORIES_GGUF_DIR, 'stories260K-f16.gguf'), join(QUANT_SAMPLES_DIR, 'llama-256-Q4_K_M.gguf')]) {
    it(`${file.split('/').pop()}: mmap and direct equal pread bit for bit`, async () => {
      // A copy on the test's own disk: the shared folder may be read-only or on another filesystem.
      const copy = join(tempDir('rb-io-gguf-'), file.split('/').pop()!);
      copyFileSync(file, copy);
      const plan = buildLoadPlan(copy);
      const reference = logitsOf(await run(plan, 'pread'));
      for (const io of TMP_DIRECT ? (['mmap', 'direct'] as const) : (['mmap'] as const)) expect(logitsOf(await run(plan, io)), io).toEqual(reference);
    });
  }
});
