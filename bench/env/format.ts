// The environment report's facts and measurements as table rows and lines for people.
import { deviceReadLimit, type DiskRead, type EnvironmentReport, type SimdFlag } from './types.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;
const mib = (bytes: number) => `${Math.round(bytes / MiB)} MiB`;

function cpuLine(cpu: EnvironmentReport['cpu']): string {
  const parts = [`${cpu.manufacturer} ${cpu.brand}`.trim(), `${cpu.cores} threads`];
  if (cpu.physical_cores) parts.push(`${cpu.physical_cores} cores`);
  if (cpu.speed_ghz) parts.push(`${cpu.speed_ghz} GHz${cpu.speed_max_ghz ? ` (max ${cpu.speed_max_ghz})` : ''}`);
  if (cpu.l3_bytes) parts.push(`L3 ${mib(cpu.l3_bytes)}`);
  return parts.join(', ');
}

function simdLine(simd: EnvironmentReport['cpu']['simd']): string {
  if (!simd) return 'unknown';
  const flags = Object.keys(simd) as SimdFlag[];
  const missing = flags.filter((f) => !simd[f]);
  const present = flags.filter((f) => simd[f]).join(' ') || 'none';
  return missing.length > 0 ? `${present} (no ${missing.join(' ')})` : present;
}

function storageLine(s: EnvironmentReport['storage']): string {
  if (!s) return 'unknown';
  return `${s.dir} on ${s.mount_point} (${s.fs_type}, ${s.source}${s.disk ? `, disk ${s.disk}` : ''})`;
}

/** "OpenMP on, " for builds from before the engine's own thread pool, which recorded it; else nothing. */
export function openmpNote(openmp: unknown): string {
  return typeof openmp === 'boolean' ? `OpenMP ${openmp ? 'on' : 'off'}, ` : '';
}

function buildLine(b: EnvironmentReport['engine_build']): string {
  return `${b.compiler}, ${b.build_type}, flags "${b.flags.trim()}", backends ${b.backends.join(' ')}, ` +
    `timers ${b.timers ? 'on' : 'off'}, ${openmpNote(b.openmp)}CPU kernels ${b.cpu_kernels ?? 'unknown'}`;
}

export function measuredRows(m: NonNullable<EnvironmentReport['measured']>): [string, string][] {
  const mem = m.memory_bandwidth;
  const disk = m.disk_read;
  const gbps = (k: typeof mem.triad) => `${k.best_gbps.toFixed(1)} GB/s best, ${k.median_gbps.toFixed(1)} median`;
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const limit = deviceReadLimit(disk);
  return [
    ['Memory triad', `${gbps(mem.triad)} (a = b + s·c, ${mem.triad.bytes_per_element} B/element read+write)`],
    ['Memory copy', `${gbps(mem.copy)} (c = a, ${mem.copy.bytes_per_element} B/element read+write)`],
    ['', `${mem.threads} threads, 3 × ${mib(mem.array_bytes)} of ${mem.element_bytes}-byte doubles, best of ${mem.repeats}`],
    ['Disk read cold', `${Math.round(disk.cold_mbps)} MB/s buffered (${pct(disk.resident_before_cold)} cached before` +
      `${disk.resident_before_cold > 0.05 ? ': NOT a cold read, this filesystem kept the pages (tmpfs?)' : ''}` +
      `${disk.cold_device_bytes != null ? `; the device delivered ${pct(Math.min(1, disk.cold_device_bytes / disk.file_bytes))} of it` : ''})`],
    ['Disk read warm', `${Math.round(disk.warm_mbps)} MB/s buffered, from the page cache (${pct(disk.resident_before_warm)} cached before)`],
    ['Disk direct', directLine(disk)],
    ['', `${mib(disk.file_bytes)} file in ${disk.dir}, buffered pread in ${mib(disk.block_bytes)} blocks; ` +
      `cold-disk limit ${Math.round(limit.mbps)} MB/s (${LIMIT_SOURCE[limit.source]})`],
  ];
}

const LIMIT_SOURCE: Record<ReturnType<typeof deviceReadLimit>['source'], string> = {
  direct: 'the best O_DIRECT figure',
  buffered: 'the buffered cold read, which the device delivered and which beat O_DIRECT',
  unverified: 'the buffered cold read, unverified: no O_DIRECT figure and no device byte count',
};

function directLine(disk: DiskRead): string {
  if (disk.direct === undefined) return 'not measured (a report from before the O_DIRECT probe)';
  if (disk.direct.length === 0) return disk.direct_refused ?? 'no figure';
  return `${disk.direct.map((d) => `${Math.round(d.mbps)} MB/s (${mib(d.block_bytes)} × ${d.in_flight} in flight)`).join(', ')}: O_DIRECT, what the device delivers`;
}

/** The machine and the build, one fact a row. */
export function machineRows(r: EnvironmentReport): [string, string][] {
  return [
    ['Machine', r.machine_fingerprint],
    ['CPU', cpuLine(r.cpu)],
    ['SIMD', simdLine(r.cpu.simd)],
    ['Memory', `${gib(r.memory.total_bytes)} total, ${gib(r.memory.available_bytes)} available`],
    ['GPUs', r.gpus.map((g) => `${g.vendor} ${g.model}${g.vram_mib ? ` (${g.vram_mib} MiB)` : ''}`.trim()).join('; ') || 'none'],
    ['Disks', r.disks.map((d) => `${d.name} ${d.type} ${gib(d.size_bytes)}${d.model ? ` ${d.model}` : ''}`).join('; ') || 'none found'],
    ['Storage', storageLine(r.storage)],
    ['OS', `${r.os.distro} ${r.os.release}, kernel ${r.os.kernel}, ${r.os.arch}`.trim()],
    ['Node', r.node_version],
    ['Engine build', buildLine(r.engine_build)],
  ];
}
