// Loads the compiled addon. Only this file knows where cmake-js puts it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { repoRoot } from '../paths.js';
import type { LoadPlan } from '../model/types.js';
import type { NativeGenerateResult } from './records.js';

export interface NativeBuildInfo {
  compiler: string;
  flags: string;
  buildType: string;
  backends: string[];
  timers: boolean;
  /** CPU kernel instruction set chosen at run time: 'avx512', 'avx2' or 'portable' (RABBIT_BENCH_CPU_KERNELS overrides). */
  cpuKernels: string;
}

export type FaultName = 'none' | 'boolean-mask' | 'untied-lm-head' | 'wrong-rope' | 'abort';

export type DeviceName = 'cpu' | 'cuda';

export interface NativeEngineOptions {
  /** Default 'cpu'. 'cuda' loads build/Release/librb_cuda.so at run time (see cudaStatus). */
  device?: DeviceName;
  /** CUDA only: unit buffers in pinned (page-locked) host memory (default true). */
  pinMemory?: boolean;
  /** CUDA only: copy unit i+1 to the device while unit i computes (default true). */
  asyncTransfer?: boolean;
  /** Test-only: the CPU backend behind the code paths a device backend takes (pipelined steps, backend argmax, ...). */
  emulateDevice?: boolean;
  prefetch: boolean;
  resident: boolean;
  /** --cold=step: every unit and embedding row leaves the page cache right after it is read. */
  dropAfterRead: boolean;
  /** How streamed units are read (absent from builds before --io: pread). */
  io: IoMode;
  /** Sparse layers: experts read as the router picks them (builds before MoE ignore both). */
  expertStreaming: boolean;
  expertCacheBytes: number;
  threads: number;
  fault: FaultName;
  slowdownPercent: number;
}

/** pread: copied through the page cache; mmap: read in place from the mapped files; direct: O_DIRECT, around the page cache. */
export const IO_MODES = ['pread', 'mmap', 'direct'] as const;
export type IoMode = (typeof IO_MODES)[number];

export interface NativeSampling {
  greedy: boolean;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  seed: number;
}

export interface NativeGenerateRequest {
  promptIds: number[];
  maxNewTokens: number;
  eosTokenIds: number[];
  stopOnEos: boolean;
  logits: 'none' | 'prefill' | 'all';
  sampling: NativeSampling;
  /** Record each step's timeline (StepRecord.spans). */
  trace: boolean;
}

/** Device memory of a generation on a device backend (CUDA); bytes are the backend's own allocations. */
export interface NativeDeviceStats {
  name: string;
  computeCapability: string;
  totalBytes: number;
  /** Free when the backend was made (after the CUDA context). */
  freeAtStartBytes: number;
  currentBytes: number;
  /** High-water mark of the backend's device allocations since the engine was opened. */
  peakBytes: number;
  kvCacheBytes: number;
  activationBytes: number;
  /** Device bytes of each unit's weights (layers.0.., then lm_head); 0 for a unit not loaded yet. */
  unitBytes: number[];
  pinnedHost: boolean;
  asyncTransfer: boolean;
  /** 'cublas' or 'own kernels'. */
  gemm: string;
}

export type NativeDeviceResult = NativeGenerateResult & { device?: NativeDeviceStats };

export interface NativeEngine {
  readonly backend: string;
  generate(request: NativeGenerateRequest, onToken?: (id: number) => void): Promise<NativeDeviceResult>;
  close(): void;
}

/**
 * Whether the CUDA backend can be used here, and if not, exactly why:
 * `not-built` (no library: nvcc absent at build time, or RB_CUDA=OFF), `load-failed` (dlopen
 * error), `abi-mismatch` (library from another build), `no-driver` (no libcuda.so.1),
 * `driver-error` (cudaGetDeviceCount failed, e.g. a driver older than the runtime), `no-device`.
 */
export const CUDA_STATUS_CODES = ['ok', 'not-built', 'load-failed', 'abi-mismatch', 'no-driver', 'driver-error', 'no-device'] as const;
export type CudaStatusCode = (typeof CUDA_STATUS_CODES)[number];
export const CUDA_BUILD_STATES = ['built', 'off', 'no-nvcc', 'no-cudart'] as const;

export interface NativeCudaStatus {
  /** The library exists and loads with a matching ABI. */
  built: boolean;
  /** ... and a driver and at least one device are there. */
  available: boolean;
  code: CudaStatusCode;
  /** One sentence; empty when available. */
  reason: string;
  /** The library path looked at. */
  library: string;
  /** How the engine was configured: 'built', 'off' (RB_CUDA=OFF), 'no-nvcc' or 'no-cudart' (toolkit without its static runtime). */
  buildState: (typeof CUDA_BUILD_STATES)[number];
  devices: number;
  deviceName: string;
  deviceMemoryBytes: number;
  computeCapability: string;
  /** e.g. 13000 for CUDA 13.0; 0 when unknown. */
  driverVersion: number;
  runtimeVersion: number;
  /** The library does its GEMMs with cuBLAS (else with its own kernels). */
  cublas: boolean;
}

/** What one file's eviction achieved; residency is a fraction of its pages, null where it cannot be observed. */
export interface NativeEvictResult {
  file: string;
  bytes: number;
  residentBefore: number | null;
  residentAfter: number | null;
  /**
   * `still-resident`: the kernel kept pages (tmpfs, pages mapped by a running process).
   * `unverifiable`: Linux shows the page cache (mincore) only to the owner or a writer of the file.
   */
  status: 'evicted' | 'still-resident' | 'unverifiable';
}

export interface NativeMemoryBandwidthOptions {
  /** Bytes per array (three arrays); default max(128 MiB, 4/3 x L3) so the set is 4x the L3. */
  bytes?: number;
  /** Default: the CPUs this process may run on. */
  threads?: number;
  /** Timed passes per kernel (default 5). */
  repeats?: number;
}

export interface NativeKernelBandwidth {
  /** Bytes counted per element: reads + writes (copy 2 x 8, triad 3 x 8); write-allocate traffic not counted. */
  bytesPerElement: number;
  /** GB/s = 10^9 bytes per second. */
  bestGBps: number;
  medianGBps: number;
}

export interface NativeMemoryBandwidthResult {
  bytes: number;
  elementBytes: number;
  threads: number;
  repeats: number;
  /** 0 when the system does not report it. */
  l3Bytes: number;
  copy: NativeKernelBandwidth;
  triad: NativeKernelBandwidth;
}

export interface NativeDiskReadOptions {
  dir: string;
  /** Size of the temporary file (default 256 MiB). */
  bytes?: number;
}

export interface NativeDiskReadResult {
  dir: string;
  bytes: number;
  blockBytes: number;
  /** MB/s = 10^6 bytes per second. */
  coldMBps: number;
  warmMBps: number;
  /** Page-cache residency before each read: ~0 makes the cold read cold, ~1 the warm read warm. */
  residentBeforeCold: number;
  residentBeforeWarm: number;
  /** Bytes the device delivered during the cold read (/proc/self/io read_bytes); null where not counted. */
  coldDeviceBytes: number | null;
  /** O_DIRECT reads of the whole file per block size x reads in flight; empty when refused. */
  direct: { blockBytes: number; inFlight: number; mbps: number }[];
  /** Why there are no O_DIRECT figures (tmpfs and some network filesystems refuse it); null otherwise. */
  directRefused: string | null;
}

export interface NativeAddon {
  Engine: new (plan: LoadPlan, options: NativeEngineOptions) => NativeEngine;
  buildInfo(): NativeBuildInfo;
  /** Absent in engine builds older than the CUDA backend. */
  cudaStatus?(): NativeCudaStatus;
  /** Cost of one steady_clock reading in ns (the unit of the engine's instrumentation). */
  clockReadCostNs(): number;
  /** Fraction of the file's pages in the page cache; throws where Linux would not tell (see NativeEvictResult). */
  pageCacheResidency(file: string): number;
  /** posix_fadvise(DONTNEED) on every file, after writing back its dirty pages; rejects naming the file that failed. */
  evictFromPageCache(files: string[]): Promise<NativeEvictResult[]>;
  /** STREAM copy and triad over double arrays; rejects on bad options or too little free memory. */
  memoryBandwidth(options?: NativeMemoryBandwidthOptions): Promise<NativeMemoryBandwidthResult>;
  /** Writes, syncs, evicts and reads back (buffered cold, warm, then O_DIRECT) a temporary file in `dir`, then deletes it. */
  diskReadBandwidth(options: NativeDiskReadOptions): Promise<NativeDiskReadResult>;
  /** The values of whole blocks of `dtype` (float types: their values), exactly as the format defines them. */
  dequantize(dtype: string, bytes: Uint8Array): Float32Array;
  /** Rows of `cols` values encoded as `dtype` by rabbit-bench's quantizers (float types: converted). */
  quantize(dtype: string, values: Float32Array, cols: number): Uint8Array;
  /** Y[n x rows] = X[n x cols] W^T with the engine's CPU kernels (W: rows x cols of `dtype`). */
  gemm(dtype: string, weights: Uint8Array, rows: number, cols: number, x: Float32Array, n: number): Float32Array;
}

const loaded = new Map<string, NativeAddon>();

/**
 * The engine build at `path`; by default this checkout's, or RABBIT_BENCH_ADDON (e.g. a build
 * with the timers compiled out, to measure what profiling costs). Several builds can live in one
 * process: `gate --baseline-engine` runs the base commit's build beside the current one.
 */
export function loadAddon(path?: string): NativeAddon {
  const file = resolve(path ?? process.env.RABBIT_BENCH_ADDON ?? join(repoRoot(), 'build', 'Release', 'rabbit_native.node'));
  const known = loaded.get(file);
  if (known) return known;
  if (!existsSync(file)) {
    const hint = path ? 'build that commit with `npm ci` in a checkout of it' : 'run `npm install` or `npm run build`';
    throw new UserError(`the native engine is not built (${file} is missing): ${hint}`, 2);
  }
  const addon = createRequire(import.meta.url)(file) as NativeAddon;
  loaded.set(file, addon);
  return addon;
}
