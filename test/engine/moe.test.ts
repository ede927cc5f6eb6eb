// Mixture-of-experts layers: how the experts reach the forward pass (streamed one by one through
// the expert cache of any size, whole layers, resident, with or without prefetch) never changes a
// logit; the records say which experts ran and what was read for them; bad checkpoints and
// configs are clear errors; backends without MoE refuse it.
import { closeSync, constants, cpSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine, type EngineOptions } from '../../bench/engine/engine.js';
import type { StepRecord } from '../../bench/engine/records.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { layerTensorRefs, type LoadPlan } from '../../bench/model/types.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { MOE_FIXTURES } from '../helpers/fixture-kinds.js';
import { writeSafetensors } from '../../bench/synth/safetensors.js';
import type { FloatDtype } from '../../bench/model/dtype.js';
import { readSafetensorsHeader } from '../../bench/model/safetensors.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';

const tempDir = tempDirs();

/** Whether the filesystem of the fixtures accepts O_DIRECT. */
function acceptsDirect(dir: string): boolean {
  try {
    closeSync(openSync(join(dir, 'config.json'), constants.O_RDONLY | constants.O_DIRECT));
    return true;
  } catch {
    return false;
  }
}
let directWorks = false;

async function run(plan: LoadPlan, options: EngineOptions, promptLength = 40, maxNewTokens = 6) {
  const engine = InferenceEngine.open(plan, options);
  try {
    const promptIds = Array.from({ length: promptLength }, (_, i) => (i * 37 + 5) % plan.spec.vocabSize);
    return await engine.generate({ promptIds, maxNewTokens, logits: 'all', stopOnEos: false });
  } finally {
    engine.close();
  }
}
const logitsOf = (r: Awaited<ReturnType<typeof run>>) => r.logits.map((l) => Array.from(l));

/** Bytes of one expert of layer `layer` (its three matrices). */
function expertBytes(plan: LoadPlan, layer: number): number {
  const e = plan.layers[layer].experts![0];
  return e.gate_proj.bytes + e.up_proj.bytes + e.down_proj.bytes;
}

const sparseUnits = (step: StepRecord) => step.units.filter((u) => u.experts);

describe('mixture-of-experts engine', () => {
  let dirs: Record<string, string>;
  beforeAll(() => {
    dirs = buildFixtures(TEST_FIXTURES_DIR);
    directWorks = acceptsDirect(dirs[MOE_FIXTURES[0]]);
  });

  it('finds the MoE fixtures', () => {
    expect(MOE_FIXTURES.length).toBeGreaterThanOrEqual(4);
  });

  for (const name of MOE_FIXTURES) {
    it(`${name}: expert streaming with any cache size, whole layers, resident, no prefetch and every --io give bit-identical logits`, async () => {
      const plan = buildLoadPlan(dirs[name]);
      const reference = await run(plan, {});
      const variants: EngineOptions[] = [
        { expertCacheBytes: 0 },
        { expertCacheBytes: expertBytes(plan, plan.spec.moe!.sparseLayers[0]) * 3 },
        { expertStreaming: false },
        { resident: true },
        { resident: true, expertStreaming: false },
        { prefetch: false, expertCacheBytes: 0 },
        { io: 'mmap', expertCacheBytes: 0 },
        // O_DIRECT reads need aligned expert buffers too (tmpfs refuses O_DIRECT on some kernels).
        ...(directWorks ? [{ io: 'direct', expertCacheBytes: 0, dropAfterRead: true } as EngineOptions] : []),
      ];
      for (const options of variants) {
        const r = await run(plan, options);
        expect(r.tokens, JSON.stringify(options)).toEqual(reference.tokens);
        expect(logitsOf(r), JSON.stringify(options)).toEqual(logitsOf(reference));
      }
    });
  }

  it('records the routed experts: a decode token uses top-k per sparse layer, and streaming reads only those', async () => {
    const plan = buildLoadPlan(dirs['mixtral-8x-top2-bf16']);
    const { topK, numExperts } = plan.spec.moe!;
    const streamed = await run(plan, { expertCacheBytes: 0 });
    const decode = streamed.steps.filter((s) => s.kind === 'decode');
    expect(decode.length).toBeGreaterThan(0);
    for (const step of decode) {
      const units = sparseUnits(step);
      expect(units.length).toBe(plan.spec.moe!.sparseLayers.length);
      for (const u of units) {
        const layer = Number(u.name.split('.')[1]);
        expect(u.experts!.used.length).toBe(topK);
        expect([...u.experts!.used].sort((a, b) => a - b)).toEqual(u.experts!.used);
        // No cache: every expert is read again, and only the ones used.
        expect(u.experts!.loaded).toBe(topK);
        expect(u.experts!.cached).toBe(0);
        expect(u.experts!.bytesRead).toBe(topK * expertBytes(plan, layer));
        const layerBytes = layerTensorRefs(plan.layers[layer]).reduce((a, t) => a + t.bytes, 0);
        expect(u.bytesRead).toBe(layerBytes - numExperts * expertBytes(plan, layer));
      }
    }
    // A prefill of 40 tokens routes to more than k experts (the router spreads tokens).
    const prefill = sparseUnits(streamed.steps[0]);
    expect(Math.max(...prefill.map((u) => u.experts!.used.length))).toBeGreaterThan(topK);

    // Whole layers: the layer unit holds every expert, none is read on its own.
    const whole = await run(plan, { expertStreaming: false });
    for (const step of whole.steps) {
      for (const u of sparseUnits(step)) {
        const layer = Number(u.name.split('.')[1]);
        expect(u.experts!.loaded).toBe(0);
        expect(u.experts!.cached).toBe(u.experts!.used.length);
        expect(u.bytesRead).toBe(layerTensorRefs(plan.layers[layer]).reduce((a, t) => a + t.bytes, 0));
      }
    }
  });

  it('a cache that holds every expert reads each expert once per generation; resident keeps them across generations', async () => {
    const plan = buildLoadPlan(dirs['qwen3moe-normtopk-bf16']);
    const big = await run(plan, { expertCacheBytes: 1 << 30 }, 40, 8);
    for (const layer of plan.spec.moe!.sparseLayers) {
      const records = big.steps.map((s) => s.units.find((u) => u.name === `layers.${layer}`)!.experts!);
      const distinct = new Set(records.flatMap((r) => r.used));
      expect(records.reduce((a, r) => a + r.loaded, 0)).toBe(distinct.size);
      expect(records.reduce((a, r) => a + r.loaded + r.cached, 0)).toBe(records.reduce((a, r) => a + r.used.length, 0));
    }
    const engine = InferenceEngine.open(plan, { resident: true });
    try {
      const promptIds = Array.from({ length: 40 }, (_, i) => (i * 37 + 5) % plan.spec.vocabSize);
      await engine.generate({ promptIds, maxNewTokens: 4, stopOnEos: false });
      const again = await engine.generate({ promptIds, maxNewTokens: 4, stopOnEos: false });
      const loaded = again.steps.flatMap(sparseUnits).reduce((a, u) => a + u.experts!.loaded, 0);
      expect(loaded).toBe(0);
    } finally {
      engine.close();
    }
  });

  it('the device backend path refuses MoE layers with a clear message', () => {
    const plan = buildLoadPlan(dirs['qwen3moe-topk-all-f32']);
    expect(() => InferenceEngine.open(plan, { emulateDevice: true })).toThrow(/does not run mixture-of-experts.*--device cpu/);
  });
});

describe('mixture-of-experts bad input', () => {
  let source: string;
  beforeAll(() => {
    source = buildFixtures(TEST_FIXTURES_DIR)['qwen3moe-topk-all-f32'];
  });

  function copy(): string {
    const dir = tempDir('rb-moe-bad-');
    cpSync(source, dir, { recursive: true });
    return dir;
  }
  const editConfig = (dir: string, edit: (c: Record<string, unknown>) => void) => {
    const file = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    edit(config);
    writeFileSync(file, JSON.stringify(config));
  };

  it('a missing expert tensor is named', () => {
    const dir = copy();
    const file = join(dir, 'model.safetensors');
    const header = readSafetensorsHeader(file);
    const bytes = readFileSync(file);
    const drop = 'model.layers.1.mlp.experts.2.up_proj.weight';
    const kept = [...header.tensors.entries()].filter(([name]) => name !== drop);
    writeSafetensors(
      file,
      kept.map(([name, t]) => ({
        name,
        dtype: t.dtype as FloatDtype,
        shape: t.shape,
        produce: (write: (b: Uint8Array) => void) => write(bytes.subarray(t.offset, t.offset + t.bytes)),
      })),
      { format: 'pt' },
    );
    expect(() => buildLoadPlan(dir)).toThrow(/tensor model\.layers\.1\.mlp\.experts\.2\.up_proj\.weight is missing \(required: layer 1 is a sparse layer of 4 experts\)/);
  });

  it('a config with fewer experts than the checkpoint holds contradicts it', () => {
    const dir = copy();
    editConfig(dir, (c) => {
      c.num_experts = 3;
      c.num_experts_per_tok = 2;
    });
    expect(() => buildLoadPlan(dir)).toThrow(/config contradicts checkpoint: model\.layers\.0\.mlp\.experts\.3\.\* exists but the config has 3 experts/);
  });

  it('a config with more experts than the checkpoint holds names the first missing one', () => {
    const dir = copy();
    editConfig(dir, (c) => {
      c.num_experts = 5;
    });
    expect(() => buildLoadPlan(dir)).toThrow(/experts\.4\.gate_proj\.weight is missing/);
  });

  it('top-k above the expert count is refused', () => {
    const dir = copy();
    editConfig(dir, (c) => {
      c.num_experts_per_tok = 5;
    });
    expect(() => buildLoadPlan(dir)).toThrow(/num_experts_per_tok \(5\) is more than num_experts \(4\)/);
  });
});
