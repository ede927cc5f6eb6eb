// The native memory and disk benchmarks give plausible numbers at small sizes, and their
// failures arrive as JS errors.
import { chmodSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../bench/engine/native.js';
import { measureDiskRead, measureMemoryBandwidth } from '../../bench/env/measure.js';
import { deviceReadLimit, DiskReadSchema, MemoryBandwidthSchema } from '../../bench/env/types.js';
import { runUnprivileged } from './unprivileged.js';

const addon = loadAddon();
const MiB = 2 ** 20;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-env-'));
  dirs.push(dir);
  return dir;
}

describe('memoryBandwidth', () => {
  it('measures copy and triad in GB/s, best ≥ median, on every available thread by default', async () => {
    const r = await addon.memoryBandwidth({ bytes: 8 * MiB, repeats: 3 });
    expect(r).toMatchObject({ bytes: 8 * MiB, elementBytes: 8, threads: availableParallelism(), repeats: 3 });
    expect(r.copy.bytesPerElement).toBe(16);
    expect(r.triad.bytesPerElement).toBe(24);
    for (const k of [r.copy, r.triad]) {
      expect(Number.isFinite(k.bestGBps)).toBe(true);
      expect(k.medianGBps).toBeGreaterThan(1);
      expect(k.bestGBps).toBeGreaterThanOrEqual(k.medianGBps);
    }
  });

  it('runs on one thread and fits the report schema', async () => {
    const m = await measureMemoryBandwidth({ arrayBytes: 4 * MiB, repeats: 2 });
    expect(MemoryBandwidthSchema.parse(m)).toEqual(m);
    expect((await addon.memoryBandwidth({ bytes: 4 * MiB, threads: 1, repeats: 1 })).threads).toBe(1);
  });

  it('rejects bad options and more memory than there is', async () => {
    expect(() => addon.memoryBandwidth({ threads: 0 })).toThrow(/'threads' must be a positive integer/);
    expect(() => addon.memoryBandwidth({ bytes: 1.5 })).toThrow(TypeError);
    await expect(addon.memoryBandwidth({ bytes: 1024 })).rejects.toThrow(/at least 64 KiB/);
    await expect(addon.memoryBandwidth({ bytes: 2 ** 50 })).rejects.toThrow(/MiB of memory are available/);
  });
});

describe('diskReadBandwidth', () => {
  it('reads a small file cold then warm, and deletes it', async () => {
    const dir = tempDir();
    const r = await addon.diskReadBandwidth({ dir, bytes: 8 * MiB });
    expect(r).toMatchObject({ dir, bytes: 8 * MiB, blockBytes: 4 * MiB });
    expect(r.coldMBps).toBeGreaterThan(0);
    expect(r.warmMBps).toBeGreaterThan(0);
    expect(Number.isFinite(r.coldMBps) && Number.isFinite(r.warmMBps)).toBe(true);
    expect(r.residentBeforeWarm).toBeGreaterThan(0.99);
    // tmpfs keeps its pages; anywhere else the cold read must really start from the disk.
    if (statfsSync(dir).type !== 0x01021994) expect(r.residentBeforeCold).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    // Off tmpfs the device delivers the cold read (readahead may add a little).
    if (statfsSync(dir).type !== 0x01021994 && r.coldDeviceBytes !== null) expect(r.coldDeviceBytes).toBeGreaterThanOrEqual(0.9 * 8 * MiB);
  });

  it('reads with O_DIRECT in every block size that fits, one and four reads in flight, or says why not', async () => {
    const dir = tempDir();
    const r = await addon.diskReadBandwidth({ dir, bytes: 8 * MiB });
    if (statfsSync(dir).type === 0x01021994) {
      expect(r.direct).toEqual([]);
      expect(r.directRefused).toMatch(/O_DIRECT/);
      return;
    }
    // 16 MiB blocks do not fit an 8 MiB file.
    expect(r.direct.map((d) => [d.blockBytes, d.inFlight])).toEqual([[4 * MiB, 1], [4 * MiB, 4]]);
    for (const d of r.direct) expect(Number.isFinite(d.mbps) && d.mbps > 0).toBe(true);
    expect(r.directRefused).toBeNull();
    const big = await addon.diskReadBandwidth({ dir, bytes: 32 * MiB });
    expect(big.direct.map((d) => [d.blockBytes / MiB, d.inFlight])).toEqual([[4, 1], [4, 4], [16, 1], [16, 4]]);
  });

  it('the cold-disk limit is the best figure the device delivered: O_DIRECT, or a buffered read the device bytes vouch for', () => {
    const base = { dir: '/d', file_bytes: MiB, block_bytes: MiB, cold_mbps: 900, warm_mbps: 9000, resident_before_cold: 0, resident_before_warm: 1 };
    expect(deviceReadLimit({ ...base, direct: [{ block_bytes: MiB, in_flight: 1, mbps: 1200 }, { block_bytes: MiB, in_flight: 4, mbps: 1700 }], direct_refused: null }))
      .toEqual({ mbps: 1700, source: 'direct' });
    expect(deviceReadLimit({ ...base, direct: [], direct_refused: 'this filesystem refuses O_DIRECT reads: Invalid argument' })).toEqual({ mbps: 900, source: 'unverified' });
    expect(deviceReadLimit(base)).toEqual({ mbps: 900, source: 'unverified' });
    // Readahead beat O_DIRECT, and the device delivered (nearly) all of the buffered read.
    const direct = [{ block_bytes: MiB, in_flight: 1, mbps: 850 }];
    expect(deviceReadLimit({ ...base, direct, cold_device_bytes: 0.95 * MiB })).toEqual({ mbps: 900, source: 'buffered' });
    // A buffered read the page cache half served is no device figure.
    expect(deviceReadLimit({ ...base, direct, cold_device_bytes: 0.5 * MiB })).toEqual({ mbps: 850, source: 'direct' });
    expect(deviceReadLimit({ ...base, direct: [], cold_device_bytes: MiB })).toEqual({ mbps: 900, source: 'buffered' });
  });

  it('fits the report schema', async () => {
    const d = await measureDiskRead(tempDir(), 2 * MiB);
    expect(DiskReadSchema.parse(d)).toEqual(d);
  });

  it('turns a missing folder, a full or unwritable one and bad options into JS errors', async () => {
    const missing = join(tempDir(), 'missing');
    await expect(addon.diskReadBandwidth({ dir: missing })).rejects.toThrow(`cannot use ${missing} for the disk read benchmark: No such file or directory`);
    await expect(addon.diskReadBandwidth({ dir: '/proc', bytes: 2 * MiB })).rejects.toThrow(/needs 66 MiB free in \/proc/);
    await expect(addon.diskReadBandwidth({ dir: tempDir(), bytes: 2 ** 50 })).rejects.toThrow(/MiB free in/);
    await expect(addon.diskReadBandwidth({ dir: tempDir(), bytes: 1000 })).rejects.toThrow(/at least 1 MiB/);
    expect(() => addon.diskReadBandwidth({} as { dir: string })).toThrow(TypeError);
  });

  it('names a folder it may not write to', () => {
    const dir = tempDir();
    chmodSync(dir, 0o555);
    const message = runUnprivileged(
      `a.diskReadBandwidth({ dir: process.argv[2], bytes: 1 << 20 }).catch((e) => console.log(JSON.stringify(e.message)));`,
      [dir],
    );
    expect(message).toBe(`cannot create a file in ${dir}: Permission denied`);
  });
});
