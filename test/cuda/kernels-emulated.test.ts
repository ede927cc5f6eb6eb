// The CUDA kernels' logic without a GPU: native/test/kernels_test.cpp runs every kernel of
// native/src/cuda/cuda_kernels.cu on host fibers (src/cuda/kernel_emulation.h) and compares it
// with the CPU backend's kernels (bit-exact where the math is the same, else within 1e-5).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCommand } from '../helpers/run.js';
import { findCompiler } from './helpers.js';

const CXX = findCompiler('c++');
const dir = mkdtempSync(join(tmpdir(), 'rb-kernels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!CXX)(`CUDA kernels on emulated threads${CXX ? '' : ' (skipped: no c++ compiler)'}`, () => {
  it('every kernel matches the CPU reference: dtype widening, embedding, RMSNorm, RoPE, attention (prefill, decode, GQA/MQA, window, fault), GEMM/GEMV, SwiGLU, argmax', async () => {
    const src = (p: string) => join(REPO_ROOT, 'native', p);
    const exe = join(dir, 'kernels_test');
    const build = await runCommand(CXX!, ['-std=c++17', '-O2', '-Wall', '-Wno-unused-variable', '-pthread', '-DRB_KERNEL_EMULATION', `-I${src('src')}`,
      src('test/kernels_test.cpp'), src('src/engine/cpu_kernels.cpp'), src('src/engine/worker_pool.cpp'), src('src/engine/rope.cpp'),
      src('src/engine/dtype.cpp'), '-o', exe]);
    expect(build.status, build.stderr).toBe(0);
    const run = await runCommand(exe, []);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^all \d+ checks passed$/m);
  });
});
