// Which mount, filesystem and physical disk hold a folder. Read from /proc/self/mountinfo and
// /sys, which answers at once and, unlike `df`, never hangs on a dead network mount.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { EnvironmentReport } from './types.js';

export type StorageLocation = NonNullable<EnvironmentReport['storage']>;

interface Mount {
  majorMinor: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function readMounts(): Mount[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = line.split(' ');
      const sep = f.indexOf('-', 6);
      return { majorMinor: f[2], mountPoint: unescapeMount(f[4]), fsType: f[sep + 1], source: unescapeMount(f[sep + 2]) };
    });
}

function contains(mountPoint: string, path: string): boolean {
  return mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
}

function majorMinorOf(dev: bigint): string {
  // glibc's dev_t encoding (gnu_dev_major / gnu_dev_minor).
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** Walks from a block device to the disk under it: partition → disk, device-mapper/md → first member. */
function wholeDisk(sysPath: string): string {
  const slaves = join(sysPath, 'slaves');
  const members = existsSync(slaves) ? readdirSync(slaves) : [];
  if (members.length > 0) return wholeDisk(realpathSync(join(slaves, members[0])));
  if (existsSync(join(sysPath, 'partition'))) return wholeDisk(dirname(sysPath));
  return basename(sysPath);
}

function diskOf(mount: Mount): string | null {
  // Block-backed filesystems name their device in mountinfo; btrfs shows an anonymous one
  // there, so the mounted source's device number is the fallback.
  const candidates = [mount.majorMinor];
  if (mount.source.startsWith('/dev/') && existsSync(mount.source)) candidates.push(majorMinorOf(statSync(mount.source, { bigint: true }).rdev));
  for (const mm of candidates) {
    const sys = join('/sys/dev/block', mm);
    if (existsSync(sys)) return wholeDisk(realpathSync(sys));
  }
  return null;
}

/** The storage holding `dir`, or why it cannot be told. */
export function locateStorage(dir: string): StorageLocation | string {
  if (process.platform !== 'linux') return `storage of ${dir}: only determined on Linux`;
  try {
    const real = realpathSync(dir);
    const dev = majorMinorOf(statSync(real, { bigint: true }).dev);
    const holding = readMounts().filter((m) => contains(m.mountPoint, real));
    const sameDevice = holding.filter((m) => m.majorMinor === dev);
    // The deepest mount wins; among equals the later one, which shadows the earlier.
    const best = (sameDevice.length > 0 ? sameDevice : holding).reduce<Mount | undefined>(
      (acc, m) => (!acc || m.mountPoint.length >= acc.mountPoint.length ? m : acc),
      undefined,
    );
    if (!best) return `storage of ${dir}: no mount holds it`;
    return { dir: real, mount_point: best.mountPoint, fs_type: best.fsType, source: best.source, disk: diskOf(best) };
  } catch (err) {
    return `storage of ${dir}: ${(err as Error).message}`;
  }
}
