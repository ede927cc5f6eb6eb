// The CPU kernels' instruction set is chosen at run time: the choice is reported, either set
// keeps HF parity on every fixture (decode reads weights in place, prefill packs panels, so both
// paths of both sets run), and a bad override is a clear error rather than a crash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../bench/engine/native.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR, TEST_FIXTURES_DIR } from '../helpers/paths.js';
import { AVX2, AVX2_SKIP, AVX512, KERNEL_SETS } from '../helpers/cpu.js';
import { parseJsonRun, runValidate } from '../validate/helpers.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'rb-kernels-test-'));
  buildFixtures(TEST_FIXTURES_DIR);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function engineBuild(env: Record<string, string>) {
  const r = await runCli(['env', '--json', '--no-measure'], env);
  return { r, build: r.status === 0 ? (JSON.parse(r.stdout) as { engine_build: { cpu_kernels: string } }).engine_build : null };
}

describe('CPU kernel instruction sets', () => {
  it('the set chosen for this CPU is reported, and the override reaches child processes', async () => {
    expect(loadAddon().buildInfo().cpuKernels).toBe(AVX512 ? 'avx512' : AVX2 ? 'avx2' : 'portable');
    const { r, build } = await engineBuild({ RABBIT_BENCH_CPU_KERNELS: 'portable' });
    expect(r.status, r.stderr).toBe(0);
    expect(build?.cpu_kernels).toBe('portable');
  });

  for (const { isa, runs, skip } of KERNEL_SETS) {
    it.skipIf(!runs)(`${isa}: every fixture, 8- and 512-token prompts, matches the HF goldens${skip}`, async () => {
      const r = await runValidate(['--no-live', '--json', '--out', join(work, isa)], { RABBIT_BENCH_CPU_KERNELS: isa });
      expect(r.status, r.stderr).toBe(0);
      const file = parseJsonRun(r);
      expect(file.summary).toMatchObject({ pass: file.cells.length, fail: 0 });
    }, 300_000);
  }

  it.skipIf(!HAS_STORIES || !AVX2)(`stories260K: every set generates the same greedy text, prompt long enough for the prefill kernel${AVX2_SKIP}`, async () => {
    const prompt = 'Once upon a time, there was a little girl named Lily. She loved to play outside.';
    const args = ['generate', '--model', STORIES_DIR, '--prompt', prompt, '--max-new-tokens', '40', '--greedy'];
    const texts: string[] = [];
    for (const { isa } of KERNEL_SETS.filter((s) => s.runs)) {
      const r = await runCli(args, { RABBIT_BENCH_CPU_KERNELS: isa });
      expect(r.status, r.stderr).toBe(0);
      texts.push(r.stdout.split('\n')[0]);
    }
    expect(texts[0].length).toBeGreaterThan(40);
    for (const t of texts.slice(1)) expect(t).toBe(texts[0]);
  });

  it('an unknown override is a clear error with a non-zero exit, not a crash', async () => {
    const r = await runCli(['generate', '--model', STORIES_DIR, '--prompt', 'Once', '--max-new-tokens', '2'], { RABBIT_BENCH_CPU_KERNELS: 'avx9000' });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("RABBIT_BENCH_CPU_KERNELS must be auto, avx512, avx2 or portable, not 'avx9000'");
  });
});
