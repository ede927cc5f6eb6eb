// Eviction really empties the page cache, and says so honestly where it cannot.
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../bench/engine/native.js';
import { runUnprivileged } from './unprivileged.js';

const addon = loadAddon();
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function residentFile(parent: string): string {
  const dir = mkdtempSync(join(parent, 'rb-env-'));
  dirs.push(dir);
  const file = join(dir, 'data.bin');
  writeFileSync(file, Buffer.alloc(4 << 20, 7));
  readFileSync(file);
  return file;
}

const TMPFS_MAGIC = 0x01021994;
const SHM_IS_TMPFS = (() => {
  try {
    return statfsSync('/dev/shm').type === TMPFS_MAGIC;
  } catch {
    return false;
  }
})();

describe('evictFromPageCache and pageCacheResidency', () => {
  it('drop a file that was just written and read, or report that the pages stayed', async () => {
    const file = residentFile(tmpdir());
    expect(addon.pageCacheResidency(file)).toBeGreaterThan(0.99);
    const [r] = await addon.evictFromPageCache([file]);
    expect(r).toMatchObject({ file, bytes: 4 << 20 });
    expect(r.residentBefore).toBeGreaterThan(0.99);
    // Whatever the filesystem allows, the report must agree with an independent look.
    expect(r.residentAfter).toBeCloseTo(addon.pageCacheResidency(file), 2);
    if (r.status === 'evicted') expect(r.residentAfter).toBe(0);
    else expect(r.status).toBe('still-resident');
    // A plain disk-backed temp folder is the common case; there the eviction must work.
    if (statfsSync(tmpdir()).type !== TMPFS_MAGIC) expect(r.status).toBe('evicted');
  });

  it.skipIf(!SHM_IS_TMPFS)('report still-resident on tmpfs, whose pages are the file itself', async () => {
    const file = residentFile('/dev/shm');
    const [r] = await addon.evictFromPageCache([file]);
    expect(r.status).toBe('still-resident');
    expect(r.residentAfter).toBeGreaterThan(0.99);
  });

  it('report unverifiable where Linux hides the page cache (a file neither owned nor writable)', () => {
    const out = runUnprivileged(`
      let residency;
      try { residency = a.pageCacheResidency('/etc/passwd'); } catch (e) { residency = e.message; }
      a.evictFromPageCache(['/etc/passwd']).then((r) => console.log(JSON.stringify({ residency, evict: r[0] })));`);
    expect(out).toMatchObject({
      residency: expect.stringMatching(/cannot observe the page cache of \/etc\/passwd: .*owner/),
      evict: { file: '/etc/passwd', residentBefore: null, residentAfter: null, status: 'unverifiable' },
    });
  });

  it('turn a missing file, a folder and bad arguments into JS errors naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-env-'));
    dirs.push(dir);
    const missing = join(dir, 'missing.bin');
    await expect(addon.evictFromPageCache([missing])).rejects.toThrow(`cannot open ${missing}: No such file or directory`);
    await expect(addon.evictFromPageCache([dir])).rejects.toThrow(`${dir} is not a regular file`);
    expect(() => addon.pageCacheResidency(missing)).toThrow(`cannot open ${missing}`);
    expect(() => addon.evictFromPageCache([42 as unknown as string])).toThrow(TypeError);
  });

  it('give 0 for an empty file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-env-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'empty'), '');
    expect(addon.pageCacheResidency(join(dir, 'empty'))).toBe(0);
    expect((await addon.evictFromPageCache([join(dir, 'empty')]))[0].status).toBe('evicted');
  });
});
