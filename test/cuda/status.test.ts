// The CUDA backend as a run-time option: built when nvcc is there, loaded only when asked for,
// and when it cannot run, the addon says exactly which piece is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../bench/engine/engine.js';
import { loadAddon } from '../../bench/engine/native.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { HAS_STORIES, STORIES_DIR } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';
import { ADDON, CUDA_LIBRARY, STATUS, findCompiler, findNvcc, statusInChild } from './helpers.js';

const tempDir = tempDirs();

const NVCC = findNvcc();
const CC = findCompiler('cc');
const REASONS: Record<string, RegExp> = {
  'not-built': /CUDA backend (was not built|library .* is missing)/,
  'load-failed': /CUDA backend library .* cannot be loaded: /,
  'abi-mismatch': /another build of the engine/,
  'no-driver': /^no NVIDIA driver: libcuda\.so\.1 cannot be loaded \(/,
  'driver-error': /NVIDIA driver/,
  'no-device': /^no CUDA device: /,
};

describe('CUDA backend build', () => {
  it.skipIf(!NVCC || process.env.RB_CUDA === 'OFF')(`with nvcc on this machine (${NVCC ?? 'none'}) the build made build/Release/librb_cuda.so`, () => {
    expect(STATUS.buildState).toBe('built');
    expect(existsSync(CUDA_LIBRARY)).toBe(true);
    expect(STATUS.built, STATUS.reason).toBe(true);
  });

  it('the addon links no CUDA library, and the CUDA library needs no CUDA runtime library at run time', () => {
    const ldd = spawnSync('ldd', [ADDON], { encoding: 'utf8' });
    if (ldd.error) return;  // no ldd: nothing to inspect
    expect(ldd.stdout).not.toMatch(/libcuda|libcudart|libcublas/);
    if (existsSync(CUDA_LIBRARY)) {
      const lib = spawnSync('ldd', [CUDA_LIBRARY], { encoding: 'utf8' }).stdout;
      expect(lib).not.toMatch(/libcudart|libcuda\.so/);  // static runtime; the driver is dlopen()ed when used
    }
  });

  it('cudaStatus() is consistent: available only when built, a known code, a reason exactly when unavailable', () => {
    expect(Object.keys(REASONS).concat('ok')).toContain(STATUS.code);
    expect(STATUS.available).toBe(STATUS.code === 'ok');
    if (STATUS.available) {
      expect(STATUS.built).toBe(true);
      expect(STATUS.devices).toBeGreaterThan(0);
      expect(STATUS.reason).toBe('');
    } else {
      expect(STATUS.reason).toMatch(REASONS[STATUS.code]);
    }
  });
});

describe('CUDA unavailable: precise reasons', () => {
  it('a missing library is "not built" and names the file', async () => {
    const s = await statusInChild({ RABBIT_BENCH_CUDA_LIB: '/nonexistent/librb_cuda.so' });
    expect(s).toMatchObject({ built: false, available: false, code: 'not-built', library: '/nonexistent/librb_cuda.so' });
    expect(s.reason).toMatch(/\/nonexistent\/librb_cuda\.so/);
  });

  it('a file that is not a library is a dlopen error, with dlopen\'s message', async () => {
    const bad = join(tempDir('rb-cuda-bad-'), 'librb_cuda.so');
    writeFileSync(bad, 'not an ELF file\n');
    const s = await statusInChild({ RABBIT_BENCH_CUDA_LIB: bad });
    expect(s).toMatchObject({ built: false, available: false, code: 'load-failed' });
    expect(s.reason).toMatch(/cannot be loaded: .*(invalid ELF header|file too short)/);
  });

  it.skipIf(STATUS.buildState !== 'built' || !CC)('fake NVIDIA drivers: no device, a driver older than the runtime, a failing driver', async () => {
    // libcuda.so.1 stand-ins: cudart's cudaGetDeviceCount sees what cuInit / cuDriverGetVersion say.
    const cases: [string, number, number, string, RegExp][] = [
      ['no-device', 100, 13000, 'no-device', /^no CUDA device: the NVIDIA driver is loaded but sees no GPU \(cudaErrorNoDevice/],
      ['old-driver', 0, 11000, 'driver-error', /supports CUDA 11\.0, older than this build's CUDA runtime .*update the driver/],
      ['broken', 999, 13000, 'driver-error', /NVIDIA driver is present but cudaGetDeviceCount failed \(cudaError/],
    ];
    const root = tempDir('rb-fake-driver-');
    for (const [name, init, version, code, reason] of cases) {
      const dir = join(root, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'fake.c'), `int cuInit(unsigned int f) { (void)f; return ${init}; }\nint cuDriverGetVersion(int* v) { *v = ${version}; return 0; }\n`);
      const cc = spawnSync(CC!, ['-shared', '-fPIC', '-o', join(dir, 'libcuda.so.1'), join(dir, 'fake.c')], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
      const s = await statusInChild({ LD_LIBRARY_PATH: dir });
      expect(s.code, `${name}: ${s.reason}`).toBe(code);
      expect(s.built).toBe(true);
      expect(s.available).toBe(false);
      expect(s.reason).toMatch(reason);
    }
  });

  it.skipIf(STATUS.available || !HAS_STORIES)('device cuda is refused before anything runs: exit code 2 from TS, an Error from the native engine', () => {
    const plan = buildLoadPlan(STORIES_DIR);
    let thrown: unknown;
    try {
      InferenceEngine.open(plan, { device: 'cuda' });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ exitCode: 2 });
    expect((thrown as Error).message).toBe(`--device cuda: no CUDA backend available: ${STATUS.reason}`);
    const addon = loadAddon();
    const options = { device: 'cuda' as const, prefetch: true, resident: false, dropAfterRead: false, io: 'pread' as const, expertStreaming: true, expertCacheBytes: 0, threads: 0, fault: 'none' as const, slowdownPercent: 0 };
    expect(() => new addon.Engine(plan, options)).toThrow(`no CUDA backend available: ${STATUS.reason}`);
    expect(() => new addon.Engine(plan, { ...options, device: 'tpu' as 'cpu' })).toThrow(/device must be 'cpu' or 'cuda', not 'tpu'/);
  });

  it.skipIf(!HAS_STORIES)('CUDA-only options change nothing on the CPU', async () => {
    const plan = buildLoadPlan(STORIES_DIR);
    const run = async (o: Parameters<typeof InferenceEngine.open>[1]) => {
      const e = InferenceEngine.open(plan, o);
      try {
        const r = await e.generate({ promptIds: [1, 403, 407], maxNewTokens: 12, stopOnEos: false });
        expect(r.device).toBeUndefined();
        expect(e.deviceStats).toBeUndefined();
        return r.tokens;
      } finally {
        e.close();
      }
    };
    const plain = await run({});
    expect(await run({ device: 'cpu', pinMemory: false, asyncTransfer: false })).toEqual(plain);
  });
});
