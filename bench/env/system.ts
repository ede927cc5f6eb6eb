// Machine facts from systeminformation, shaped for the report. Every probe is bounded; what
// does not answer in time falls back to what Node itself knows, or is listed as unavailable.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Systeminformation } from 'systeminformation';
import { probe, type Probed } from './probe.js';
import type { EnvironmentReport, SimdFlags } from './types.js';

// The probes answer in ~0.1 s; one that runs a program that can hang (nvidia-smi, lsblk, DNS for
// `hostname -f`) is given up after 1.5 s. They run in parallel, so a report stays under 2 s even then.
const PROBE_TIMEOUT_MS = 1500;
// The CPU and memory probes read /proc and run lscpu, which cannot hang but can be slow on a loaded
// machine (seen: over 1.5 s at load average 8 on 2 cores). They name the machine in its
// fingerprint, so they get the time to answer rather than fall back to other spellings.
const LOCAL_PROBE_TIMEOUT_MS = 15_000;

export type SystemFacts = Pick<EnvironmentReport, 'cpu' | 'memory' | 'gpus' | 'disks' | 'os'>;

/** Linux /proc/cpuinfo names, with the spellings macOS sysctl uses. */
const SIMD_ALIASES: Record<keyof SimdFlags, string[]> = {
  sse4_2: ['sse4_2', 'sse4.2'],
  avx: ['avx', 'avx1.0'],
  avx2: ['avx2'],
  fma: ['fma'],
  f16c: ['f16c'],
  avx512f: ['avx512f'],
  avx512bw: ['avx512bw'],
  avx512_bf16: ['avx512_bf16'],
  amx: ['amx_tile', 'amx_bf16', 'amx_int8'],
};

export function simdFlags(cpuFlags: string): SimdFlags {
  const present = new Set(cpuFlags.toLowerCase().split(/\s+/));
  const entries = Object.entries(SIMD_ALIASES).map(([flag, names]) => [flag, names.some((n) => present.has(n))]);
  return Object.fromEntries(entries) as SimdFlags;
}

const positiveOrNull = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : null);

function cpuFacts(cpu: Probed<Systeminformation.CpuData>, flags: Probed<string>): SystemFacts['cpu'] {
  const simd = flags.ok ? simdFlags(flags.value) : null;
  if (!cpu.ok) {
    const cpus = os.cpus();
    return { manufacturer: '', brand: cpus[0]?.model ?? 'unknown', cores: Math.max(1, cpus.length), physical_cores: null, speed_ghz: null, speed_max_ghz: null, l3_bytes: null, simd };
  }
  const c = cpu.value;
  return {
    manufacturer: c.manufacturer,
    brand: c.brand,
    cores: c.cores,
    physical_cores: positiveOrNull(c.physicalCores),
    speed_ghz: positiveOrNull(c.speed),
    speed_max_ghz: positiveOrNull(c.speedMax),
    l3_bytes: positiveOrNull(c.cache?.l3),
    simd,
  };
}

function memoryFacts(mem: Probed<Systeminformation.MemData>): SystemFacts['memory'] {
  if (!mem.ok) return { total_bytes: os.totalmem(), available_bytes: os.freemem() };
  return { total_bytes: mem.value.total, available_bytes: mem.value.available };
}

function gpuFacts(graphics: Probed<Systeminformation.GraphicsData>): SystemFacts['gpus'] {
  if (!graphics.ok) return [];
  return graphics.value.controllers.map((g) => ({ vendor: g.vendor ?? '', model: g.model ?? '', vram_mib: positiveOrNull(g.vram) }));
}

// systeminformation's diskLayout() skips a disk mounted without partitions (common in VMs) and
// runs smartctl per disk; blockDevices() is one lsblk call and lists every disk.
function diskFacts(blocks: Probed<Systeminformation.BlockDevicesData[]>): SystemFacts['disks'] {
  if (!blocks.ok) return [];
  return blocks.value
    .filter((b) => b.type === 'disk' && b.size > 0 && !/^(loop|ram|zram)/.test(b.name))
    .map((b) => ({
      name: b.name,
      model: b.model ?? '',
      type: b.protocol === 'nvme' || b.name.startsWith('nvme') ? 'NVMe' : b.physical === 'SSD' ? 'SSD' : b.physical === 'HDD' ? 'HDD' : 'unknown',
      size_bytes: b.size,
    }));
}

/** The distribution's NAME from os-release, where systeminformation reads it too; '' elsewhere. */
function osReleaseName(): string {
  try {
    return /^NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    return '';
  }
}

function osFacts(info: Probed<Systeminformation.OsData>): SystemFacts['os'] {
  // The distribution names the machine in its fingerprint: the fallback spells it as the probe does.
  if (!info.ok) return { platform: process.platform, distro: process.platform === 'linux' ? osReleaseName() : '', release: '', kernel: os.release(), arch: os.arch() };
  const o = info.value;
  return { platform: o.platform, distro: o.distro, release: o.release, kernel: o.kernel, arch: o.arch };
}

export async function collectSystemFacts(): Promise<{ facts: SystemFacts; unavailable: string[] }> {
  const [cpu, flags, mem, osInfo, graphics, blocks] = await Promise.all([
    probe('cpu', LOCAL_PROBE_TIMEOUT_MS),
    probe('cpuFlags', LOCAL_PROBE_TIMEOUT_MS),
    probe('mem', LOCAL_PROBE_TIMEOUT_MS),
    probe('osInfo', PROBE_TIMEOUT_MS),
    probe('graphics', PROBE_TIMEOUT_MS),
    probe('blockDevices', PROBE_TIMEOUT_MS),
  ]);
  const unavailable = [cpu, flags, mem, osInfo, graphics, blocks].flatMap((p) => (p.ok ? [] : [p.reason]));
  return {
    facts: { cpu: cpuFacts(cpu, flags), memory: memoryFacts(mem), gpus: gpuFacts(graphics), disks: diskFacts(blocks), os: osFacts(osInfo) },
    unavailable,
  };
}
