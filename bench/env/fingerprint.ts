// Tells whether two result files come from the same machine.
import { createHash } from 'node:crypto';
import type { EnvironmentReport } from './types.js';

export interface FingerprintFacts {
  cpu: Pick<EnvironmentReport['cpu'], 'brand' | 'cores'>;
  memory: Pick<EnvironmentReport['memory'], 'total_bytes'>;
  os: Pick<EnvironmentReport['os'], 'platform' | 'distro' | 'arch'>;
  gpus: Pick<EnvironmentReport['gpus'][number], 'model'>[];
}

/**
 * 16 hex digits of SHA-256 over the hardware and OS family. RAM is rounded to GiB because VMs
 * report slightly different totals from boot to boot; kernel and OS release are left out
 * because an update does not make another machine; GPU names are sorted because their
 * enumeration order is not stable.
 */
export function machineFingerprint(env: FingerprintFacts): string {
  const identity = [
    env.cpu.brand,
    env.cpu.cores,
    Math.round(env.memory.total_bytes / 2 ** 30),
    env.os.platform,
    env.os.distro,
    env.os.arch,
    env.gpus.map((g) => g.model).sort(),
  ];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}
