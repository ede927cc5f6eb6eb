// Builders for the vs-hf tests: measurements, model entries and a result file, all made up.
import type { DiskRead, EnvironmentReport, MemoryBandwidth, RunMetadata } from '../../bench/env/types.js';
import type { DecodePhases, DtypeFlag, Measurement, ModelEntry, Runner } from '../../bench/vs-hf/schema.js';

export function model(name: string, dtype: DtypeFlag, stored = 100 * 2 ** 20): ModelEntry {
  return {
    model: name,
    dtype,
    dir: `/cache/${name}-${dtype}`,
    architecture: 'LlamaForCausalLM',
    num_layers: 2,
    vocab_size: 1000,
    weight_bytes_per_token: stored,
    weight_bytes_per_token_f32: dtype === 'f32' ? stored : stored * 2,
    prompt_ids: [1, 2, 3],
  };
}

export function measured(
  round: number,
  name: string,
  dtype: DtypeFlag,
  runner: Runner,
  figures: { prefill: number; decode: number; rss?: number; phases?: Partial<DecodePhases>; tokens?: number[]; otherCores?: number | null },
): Measurement {
  const engine = runner.startsWith('engine-');
  return {
    round,
    model: name,
    dtype,
    runner,
    error: null,
    prefill_tok_s: figures.prefill,
    decode_tok_s: figures.decode,
    peak_rss_bytes: figures.rss ?? 500 * 2 ** 20,
    threads: 2,
    wall_s: 3,
    other_cores: figures.otherCores ?? 0,
    tokens: figures.tokens ?? [5, 6, 7],
    decode_phases: engine ? { steps: 4, wall_ns: 1e9, load_ns: 5e8, compute_ns: 5e8, bytes_read: 0, ...figures.phases } : null,
    raw: null,
  };
}

export function failed(round: number, name: string, dtype: DtypeFlag, runner: Runner, error = 'exit 1: boom'): Measurement {
  return { round, model: name, dtype, runner, error, prefill_tok_s: null, decode_tok_s: null, peak_rss_bytes: null, threads: null, wall_s: 1, other_cores: null, tokens: [], decode_phases: null, raw: null };
}

export function memoryBandwidth(triadBest: number): MemoryBandwidth {
  const k = (best: number) => ({ bytes_per_element: 24, best_gbps: best, median_gbps: best * 0.9 });
  return { array_bytes: 2 ** 27, element_bytes: 8, threads: 2, repeats: 5, copy: { ...k(triadBest), bytes_per_element: 16 }, triad: k(triadBest) };
}

export const DISK: DiskRead = { dir: '/cache', file_bytes: 2 ** 28, block_bytes: 2 ** 20, cold_mbps: 1500, warm_mbps: 8000, resident_before_cold: 0, resident_before_warm: 1 };

export const METADATA: RunMetadata = {
  git_commit: 'a'.repeat(40),
  git_dirty: false,
  git_unavailable: null,
  command: 'node dist/scripts/bench-vs-hf.js',
  cwd: '/work',
  started_at: '2026-11-22T00:00:00.000Z',
  rabbit_bench_version: '0.1.0',
};

export const ENVIRONMENT: EnvironmentReport = {
  schema_version: 1,
  collected_at: '2026-11-22T00:00:00.000Z',
  collect_ms: 10,
  machine_fingerprint: '0123456789abcdef',
  cpu: { manufacturer: 'Intel', brand: 'Xeon', cores: 2, physical_cores: 2, speed_ghz: null, speed_max_ghz: null, l3_bytes: 300 * 2 ** 20, simd: null },
  memory: { total_bytes: 2 ** 34, available_bytes: 2 ** 33 },
  gpus: [],
  disks: [],
  storage: null,
  os: { platform: 'linux', distro: 'Debian', release: '12', kernel: '6.1', arch: 'x64' },
  node_version: 'v20.0.0',
  engine_build: { compiler: 'gcc 12.2.0', flags: '-O3', build_type: 'Release', backends: ['cpu'], timers: true, openmp: true },
  measured: null,
  unavailable: [],
};

export const BUILD = { compiler: 'gcc 12.2.0', flags: '-O3', buildType: 'Release', backends: ['cpu'], timers: true, cpuKernels: 'avx512' };
