// Which CPU kernel sets (RABBIT_BENCH_CPU_KERNELS) this machine can run, for tests that run each.
import { existsSync, readFileSync } from 'node:fs';

function cpuFlags(): string[] {
  if (process.arch !== 'x64' || !existsSync('/proc/cpuinfo')) return [];
  return /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/) ?? [];
}
const FLAGS = cpuFlags();
export const AVX2 = ['avx2', 'fma', 'f16c'].every((f) => FLAGS.includes(f));
export const AVX512 = AVX2 && FLAGS.includes('avx512f');
export const AVX2_SKIP = AVX2 ? '' : ' (skipped: this CPU lacks AVX2, FMA or F16C)';
export const KERNEL_SETS = [
  { isa: 'portable', runs: true, skip: '' },
  { isa: 'avx2', runs: AVX2, skip: AVX2_SKIP },
  { isa: 'avx512', runs: AVX512, skip: AVX512 ? '' : ' (skipped: this CPU lacks AVX-512F)' },
];
