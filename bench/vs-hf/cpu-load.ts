// How much CPU other work took while a child measured: the whole machine's busy time (steal
// included: a hypervisor taking the cores counts) less the child's own CPU time. On a shared
// machine this tells a slow configuration from a configuration that was measured during a build.
import { readFileSync } from 'node:fs';

/** USER_HZ, the unit of /proc/stat; 100 on every Linux architecture Node runs on. */
const TICKS_PER_S = 100;

export interface CpuTicks {
  busy: number;
  total: number;
}

/** Parses the aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal ... */
export function parseProcStat(text: string): CpuTicks | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return null;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  // guest and guest_nice (fields 9-10) are already counted in user and nice.
  return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Null where /proc/stat cannot be read (not Linux). */
export function readCpuTicks(): CpuTicks | null {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

/** Average number of cores busy with anything but the child over `wallS` seconds (never below 0). */
export function otherCores(before: CpuTicks | null, after: CpuTicks | null, childCpuS: number, wallS: number): number | null {
  if (!before || !after || !(wallS > 0)) return null;
  const busyS = (after.busy - before.busy) / TICKS_PER_S;
  return Math.max(0, (busyS - childCpuS) / wallS);
}
