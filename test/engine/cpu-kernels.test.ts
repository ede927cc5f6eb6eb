// The CPU kernels' instruction set is chosen at run time: the choice is reported, either set
// keeps HF parity on every fixture (decode reads weights in place, prefill packs panels, so both
// paths of both sets run), and a bad override is a clear error rather than a crash.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../bench/engine/native.js';
import { buildFixtures } from '../fixtures/build.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR } from '../helpers/paths.js';
import { parseJsonRun, runValidate } from '../validate/helpers.js';

function cpuHasAvx2(): boolean {
  if (process.arch !== 'x64' || !existsSync('/proc/cpuinfo')) return false;
  const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/) ?? [];
  return ['avx2', 'fma', 'f16c'].every((f) => flags.includes(f));
}
const AVX2 = cpuHasAvx2();
const AVX2_SKIP = AVX2 ? '' : ' (skipped: this CPU lacks AVX2, FMA or F16C)';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'rb-kernels-test-'));
  buildFixtures();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function engineBuild(env: Record<string, string>) {
  const r = runCli(['env', '--json', '--no-measure'], env);
  return { r, build: r.status === 0 ? (JSON.parse(r.stdout) as { engine_build: { cpu_kernels: string } }).engine_build : null };
}

describe('CPU kernel instruction sets', () => {
  it('the set chosen for this CPU is reported, and the override reaches child processes', () => {
    expect(loadAddon().buildInfo().cpuKernels).toBe(AVX2 ? 'avx2' : 'portable');
    const { r, build } = engineBuild({ RABBIT_BENCH_CPU_KERNELS: 'portable' });
    expect(r.status, r.stderr).toBe(0);
    expect(build?.cpu_kernels).toBe('portable');
  });

  for (const isa of ['portable', 'avx2'] as const) {
    it.skipIf(isa === 'avx2' && !AVX2)(`${isa}: every fixture, 8- and 512-token prompts, matches the HF goldens${isa === 'avx2' ? AVX2_SKIP : ''}`, () => {
      const r = runValidate(['--no-live', '--json', '--out', join(work, isa)], { RABBIT_BENCH_CPU_KERNELS: isa });
      expect(r.status, r.stderr).toBe(0);
      const file = parseJsonRun(r);
      expect(file.summary).toMatchObject({ pass: file.cells.length, fail: 0 });
    }, 300_000);
  }

  it.skipIf(!HAS_STORIES || !AVX2)(`stories260K: both sets generate the same greedy text${AVX2_SKIP}`, () => {
    const args = ['generate', '--model', STORIES_DIR, '--prompt', 'Once upon a time', '--max-new-tokens', '40', '--greedy'];
    const portable = runCli(args, { RABBIT_BENCH_CPU_KERNELS: 'portable' });
    const avx2 = runCli(args, { RABBIT_BENCH_CPU_KERNELS: 'avx2' });
    expect(portable.status, portable.stderr).toBe(0);
    expect(avx2.status, avx2.stderr).toBe(0);
    expect(portable.stdout).toContain(', there was a little girl named Lily.');
    expect(avx2.stdout.split('\n')[0]).toBe(portable.stdout.split('\n')[0]);
  });

  it('an unknown override is a clear error with a non-zero exit, not a crash', () => {
    const r = runCli(['generate', '--model', STORIES_DIR, '--prompt', 'Once', '--max-new-tokens', '2'], { RABBIT_BENCH_CPU_KERNELS: 'avx9000' });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("RABBIT_BENCH_CPU_KERNELS must be auto, avx2 or portable, not 'avx9000'");
  });
});
