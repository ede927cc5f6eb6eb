// Only where cudaStatus().available (skipped with the stated reason elsewhere): the CUDA backend
// against the committed Hugging Face goldens and against the CPU backend, in every transfer
// configuration RabbitLLM compares, plus its memory reporting and its out-of-memory message.
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine, type EngineOptions, type GenerateResult } from '../../bench/engine/engine.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { compareWithReference, F32_TOLERANCE } from '../../bench/reference/compare.js';
import { readReference } from '../../bench/reference/reference-file.js';
import { runParity } from '../../bench/reference/run-parity.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { goldenPath } from '../fixtures/golden.js';
import { FIXTURES } from '../../bench/synth/fixture-specs.js';
import { HAS_STORIES, STORIES_DIR, TEST_FIXTURES_DIR } from '../helpers/paths.js';
import { GPU_SUITE, STATUS } from './helpers.js';

const CONFIGS: EngineOptions[] = [
  { pinMemory: true, asyncTransfer: true },
  { pinMemory: false, asyncTransfer: true },
  { pinMemory: true, asyncTransfer: false },
  { pinMemory: false, asyncTransfer: false },
  { prefetch: false },
  { resident: true },
];

async function parity(dir: string, golden: string, options: EngineOptions) {
  const engine = InferenceEngine.open(buildLoadPlan(dir), { ...options, device: 'cuda' });
  try {
    expect(engine.backend).toBe('cuda');
    return await runParity(readReference(golden), engine, F32_TOLERANCE);
  } finally {
    engine.close();
  }
}

async function generate(dir: string, options: EngineOptions, promptIds: number[], maxNewTokens: number): Promise<GenerateResult> {
  const engine = InferenceEngine.open(buildLoadPlan(dir), options);
  try {
    return await engine.generate({ promptIds, maxNewTokens, stopOnEos: false, logits: 'all' });
  } finally {
    engine.close();
  }
}

describe.skipIf(!STATUS.available)(`${GPU_SUITE}: parity`, () => {
  let dirs: Record<string, string>;
  beforeAll(() => {
    dirs = buildFixtures(TEST_FIXTURES_DIR);
  });

  for (const name of Object.keys(FIXTURES)) {
    it(`${name}: CUDA matches the HF golden in every transfer configuration`, async () => {
      for (const o of CONFIGS) {
        const results = await parity(dirs[name], goldenPath(name), o);
        for (const r of results) expect(r.failures, `${name} ${JSON.stringify(o)} case ${r.name}`).toEqual([]);
      }
    });

    it(`${name}: CUDA greedy tokens equal the CPU's; logits agree to f32 tolerance`, async () => {
      const prompt = [5, 17, 99, 3, 42, 8, 61, 250, 7, 1];
      const cpu = await generate(dirs[name], {}, prompt, 12);
      const cuda = await generate(dirs[name], { device: 'cuda' }, prompt, 12);
      expect(cuda.tokens).toEqual(cpu.tokens);
      cpu.logits.forEach((l, i) => {
        const m = compareWithReference(cuda.logits[i], l, [], []);
        expect(m.cosine, `step ${i}`).toBeGreaterThanOrEqual(0.99999);
      });
    });
  }

  it.skipIf(!HAS_STORIES)('stories260K: CUDA is identical to HF for 48 greedy tokens, and a long prompt too', async () => {
    for (const o of CONFIGS) {
      const results = await parity(STORIES_DIR, goldenPath('stories260K'), o);
      for (const r of results) expect(r.failures, `${JSON.stringify(o)} case ${r.name}`).toEqual([]);
      expect(results[0].metrics.greedyPrefix).toBe(48);
    }
  });

  it('the deliberate faults break CUDA parity too (wrong RoPE, boolean mask)', async () => {
    for (const fault of ['wrong-rope', 'boolean-mask'] as const) {
      const results = await parity(dirs['llama-tied-gqa-f32'], goldenPath('llama-tied-gqa-f32'), { fault });
      expect(results.some((r) => r.failures.length > 0), fault).toBe(true);
    }
  });
});

describe.skipIf(!STATUS.available)(`${GPU_SUITE}: memory`, () => {
  let dirs: Record<string, string>;
  beforeAll(() => {
    dirs = buildFixtures(TEST_FIXTURES_DIR);
  });

  it('reports peak, KV cache, activation and per-unit VRAM, and the transfer configuration', async () => {
    const dir = dirs['qwen2-gqa-tied-bf16'];
    const engine = InferenceEngine.open(buildLoadPlan(dir), { device: 'cuda', pinMemory: false, asyncTransfer: false });
    try {
      const r = await engine.generate({ promptIds: [1, 2, 3, 4], maxNewTokens: 4, stopOnEos: false });
      const d = r.device!;
      expect(d.name).toBe(STATUS.deviceName);
      expect(d).toMatchObject({ pinnedHost: false, asyncTransfer: false });
      expect(d.unitBytes).toHaveLength(buildLoadPlan(dir).spec.numLayers + 1);
      expect(Math.min(...d.unitBytes)).toBeGreaterThan(0);
      expect(d.kvCacheBytes).toBeGreaterThan(0);
      expect(d.peakBytes).toBeGreaterThanOrEqual(d.kvCacheBytes + d.activationBytes);
      expect(d.peakBytes).toBeLessThanOrEqual(d.totalBytes);
      expect(engine.deviceStats).toEqual(d);
    } finally {
      engine.close();
    }
  });

  it('an allocation that cannot fit fails first, with a sentence (RABBIT_BENCH_CUDA_MAX_BYTES caps the device)', async () => {
    process.env.RABBIT_BENCH_CUDA_MAX_BYTES = String(80 * 2 ** 20);  // 64 MiB headroom + 16 MiB
    try {
      const engine = InferenceEngine.open(buildLoadPlan(dirs['llama-tied-gqa-f32']), { device: 'cuda' });
      try {
        await expect(engine.generate({ promptIds: [1, 2, 3], maxNewTokens: 200_000, stopOnEos: false })).rejects.toThrow(
          /^not enough GPU memory for the KV cache \(\d+ layers x 200003 positions\): it needs [\d.]+ MiB .* free of 80\.0 MiB .*\[capped by RABBIT_BENCH_CUDA_MAX_BYTES\]/,
        );
      } finally {
        engine.close();
      }
    } finally {
      delete process.env.RABBIT_BENCH_CUDA_MAX_BYTES;
    }
  });
});
