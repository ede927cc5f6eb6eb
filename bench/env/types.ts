// The machine and run a result was measured on. Result files embed these documents, so they
// are zod schemas (validated on read) and the TS types are inferred from them.
import { z } from 'zod';

/** The SIMD features that decide which kernels an engine can use. */
const SimdSchema = z.object({
  sse4_2: z.boolean(),
  avx: z.boolean(),
  avx2: z.boolean(),
  fma: z.boolean(),
  f16c: z.boolean(),
  avx512f: z.boolean(),
  avx512bw: z.boolean(),
  avx512_bf16: z.boolean(),
  /** Any AMX tile unit (amx_tile, amx_bf16, amx_int8). */
  amx: z.boolean(),
});
export type SimdFlags = z.infer<typeof SimdSchema>;
export type SimdFlag = keyof SimdFlags;

const CpuSchema = z.object({
  manufacturer: z.string(),
  brand: z.string(),
  /** Hardware threads. */
  cores: z.int().positive(),
  physical_cores: z.int().positive().nullable(),
  /** Base and maximum clock; null where the OS does not report them (common in VMs). */
  speed_ghz: z.number().positive().nullable(),
  speed_max_ghz: z.number().positive().nullable(),
  l3_bytes: z.int().positive().nullable(),
  /** Null when the CPU flags could not be read. */
  simd: SimdSchema.nullable(),
});

const GpuSchema = z.object({
  vendor: z.string(),
  model: z.string(),
  vram_mib: z.number().positive().nullable(),
});

const DiskSchema = z.object({
  /** Kernel name, e.g. nvme0n1 or sda. */
  name: z.string(),
  model: z.string(),
  /** As the kernel reports it: virtual disks often claim to be rotational (HDD). */
  type: z.enum(['NVMe', 'SSD', 'HDD', 'unknown']),
  size_bytes: z.int().nonnegative(),
});

/** Where the measured (or given) folder lives. */
const StorageSchema = z.object({
  dir: z.string(),
  mount_point: z.string(),
  fs_type: z.string(),
  /** What is mounted: a device such as /dev/nvme0n1p2, or a name such as tmpfs or overlay. */
  source: z.string(),
  /** Kernel name of the physical disk underneath (see `disks`); null for virtual filesystems. */
  disk: z.string().nullable(),
});

const KernelBandwidthSchema = z.object({
  /** Bytes counted per element: reads + writes of 8-byte doubles; write-allocate traffic not counted. */
  bytes_per_element: z.int().positive(),
  /** GB/s = 10^9 bytes per second. */
  best_gbps: z.number().positive(),
  median_gbps: z.number().positive(),
});

export const MemoryBandwidthSchema = z.object({
  /** Each of the three arrays (a, b, c). */
  array_bytes: z.int().positive(),
  element_bytes: z.int().positive(),
  threads: z.int().positive(),
  repeats: z.int().positive(),
  /** c = a */
  copy: KernelBandwidthSchema,
  /** a = b + s * c */
  triad: KernelBandwidthSchema,
});
export type MemoryBandwidth = z.infer<typeof MemoryBandwidthSchema>;

export const DirectReadSchema = z.object({
  block_bytes: z.int().positive(),
  /** Reads in flight at once (one thread each). */
  in_flight: z.int().positive(),
  mbps: z.number().positive(),
});

export const DiskReadSchema = z.object({
  dir: z.string(),
  file_bytes: z.int().positive(),
  /** Of the buffered reads below. */
  block_bytes: z.int().positive(),
  /**
   * Buffered reads, as the engine streams: MB/s = 10^6 bytes per second; cold = just evicted from
   * the page cache (kernel readahead still helps), warm = served from it.
   */
  cold_mbps: z.number().positive(),
  warm_mbps: z.number().positive(),
  /** Page-cache residency before each read: ~0 makes the cold figure honest (tmpfs cannot evict). */
  resident_before_cold: z.number().min(0).max(1),
  resident_before_warm: z.number().min(0).max(1),
  /** Bytes the device delivered during the cold read: ~file_bytes makes it a device figure too. Null: not counted; absent in older reports. */
  cold_device_bytes: z.int().nonnegative().nullable().optional(),
  /** O_DIRECT reads, what the device itself delivers; empty when refused. Absent in reports from before them. */
  direct: z.array(DirectReadSchema).optional(),
  /** Why `direct` is empty; null when it is not. */
  direct_refused: z.string().nullable().optional(),
});
export type DiskRead = z.infer<typeof DiskReadSchema>;

/** A buffered cold read is the device's figure when the device delivered at least this share of it. */
export const DEVICE_READ_SHARE = 0.9;

/**
 * The cold-disk limit rooflines and verdicts compare with: the best of what the device delivered,
 * read with O_DIRECT or buffered once the device bytes show the buffered read came from it (kernel
 * readahead keeps several large requests in flight, which on some disks beats any O_DIRECT figure).
 * Without a device figure (O_DIRECT refused and device bytes not counted, or an old report): the
 * buffered cold read, marked unverified.
 */
export function deviceReadLimit(d: DiskRead): { mbps: number; source: 'direct' | 'buffered' | 'unverified' } {
  const direct = (d.direct ?? []).map((r) => r.mbps);
  const bufferedFromDevice = d.cold_device_bytes != null && d.cold_device_bytes >= DEVICE_READ_SHARE * d.file_bytes;
  const best = Math.max(...direct, bufferedFromDevice ? d.cold_mbps : 0);
  if (best <= 0) return { mbps: d.cold_mbps, source: 'unverified' };
  return { mbps: best, source: bufferedFromDevice && best === d.cold_mbps ? 'buffered' : 'direct' };
}

const EngineBuildSchema = z.object({
  compiler: z.string(),
  flags: z.string(),
  build_type: z.string(),
  backends: z.array(z.string()),
  timers: z.boolean(),
  /** Present in reports from builds whose compute threads were OpenMP's, before the engine's own pool. */
  openmp: z.boolean().optional(),
  /** Absent in reports from before the SIMD kernels. */
  cpu_kernels: z.string().optional(),
});

export const EnvironmentReportSchema = z.object({
  schema_version: z.literal(1),
  collected_at: z.iso.datetime(),
  /** How long collecting took, measurements included. */
  collect_ms: z.number().nonnegative(),
  /** See machineFingerprint(): equal on the same hardware and OS family. */
  machine_fingerprint: z.string().regex(/^[0-9a-f]{16}$/),
  cpu: CpuSchema,
  memory: z.object({ total_bytes: z.int().positive(), available_bytes: z.int().nonnegative() }),
  gpus: z.array(GpuSchema),
  disks: z.array(DiskSchema),
  storage: StorageSchema.nullable(),
  os: z.object({ platform: z.string(), distro: z.string(), release: z.string(), kernel: z.string(), arch: z.string() }),
  node_version: z.string(),
  engine_build: EngineBuildSchema,
  /** Null when collected without measuring. */
  measured: z.object({ memory_bandwidth: MemoryBandwidthSchema, disk_read: DiskReadSchema }).nullable(),
  /** Facts that could not be collected, each with the reason. */
  unavailable: z.array(z.string()),
});
export type EnvironmentReport = z.infer<typeof EnvironmentReportSchema>;

export const RunMetadataSchema = z.object({
  /** HEAD of the rabbit-bench checkout; null when it is not one (see git_unavailable). */
  git_commit: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/).nullable(),
  /** Uncommitted or untracked (not ignored) files in the checkout. */
  git_dirty: z.boolean().nullable(),
  git_unavailable: z.string().nullable(),
  /** The command line, shell-quoted so it can be pasted back. */
  command: z.string(),
  cwd: z.string(),
  started_at: z.iso.datetime(),
  rabbit_bench_version: z.string(),
});
export type RunMetadata = z.infer<typeof RunMetadataSchema>;
