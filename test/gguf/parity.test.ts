// GGUF models against transformers loading the same files (goldens from
// scripts/make-gguf-goldens.ts): every tensor type and architecture written by rabbit-bench's
// writer, and every file llama.cpp wrote in ../shared/models, streamed and resident.
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine, type GenerateResult } from '../../bench/engine/engine.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { GGUF_FIXTURES, GGUF_GOLDEN_DIR, buildGgufFixtures } from '../fixtures/gguf.js';
import { expectGoldenParity } from '../helpers/parity.js';
import { HAS_SHARED_GGUF, QUANT_SAMPLES_DIR, SHARED_GGUF_SUITE, STORIES_GGUF_DIR } from '../helpers/paths.js';

const REGENERATE = 'npx tsc -p tsconfig.json && node dist/scripts/make-gguf-goldens.js';

const expectParity = (file: string, golden: string) => expectGoldenParity(file, join(GGUF_GOLDEN_DIR, `${golden}.json`), REGENERATE);

describe('GGUF fixtures (rabbit-bench writer) vs transformers GGUF goldens', () => {
  let files: Record<string, string>;
  beforeAll(() => {
    files = buildGgufFixtures();
  });

  it('cover every tensor type and every GGUF architecture', () => {
    const types = new Set<string>();
    const archs = new Set<string>();
    for (const file of Object.values(files)) {
      const plan = buildLoadPlan(file);
      archs.add(plan.spec.modelType);
      for (const t of [plan.embed, plan.lmHead, ...plan.layers.flatMap((l) => Object.values(l))]) types.add(t.dtype);
    }
    expect([...types].sort()).toEqual(['BF16', 'F16', 'F32', 'Q2_K', 'Q3_K', 'Q4_0', 'Q4_1', 'Q4_K', 'Q5_0', 'Q5_1', 'Q5_K', 'Q6_K', 'Q8_0']);
    expect([...archs].sort()).toEqual(['llama', 'qwen2', 'qwen3']);
  });

  for (const name of Object.keys(GGUF_FIXTURES)) {
    it(`${name}: streamed matches transformers`, async () => {
      await expectParity(files[name], name);
    });
  }

  it('resident and streamed give bit-identical logits on a quantized file', async () => {
    const plan = buildLoadPlan(files['llama-tied-Q4_K_M']);
    const request = { promptIds: [1, 5, 9, 200, 33, 78, 100, 4, 8, 15, 16], maxNewTokens: 6, stopOnEos: false, logits: 'all' as const, sampling: { greedy: true } };
    const runs: GenerateResult[] = [];
    for (const resident of [false, true]) {
      const engine = InferenceEngine.open(plan, { resident });
      runs.push(await engine.generate(request));
      engine.close();
    }
    expect(runs[1].tokens).toEqual(runs[0].tokens);
    runs[0].logits.forEach((l, i) => expect(Buffer.from(runs[1].logits[i].buffer).equals(Buffer.from(l.buffer))).toBe(true));
  });
});

describe.skipIf(!HAS_SHARED_GGUF)(`GGUF ${SHARED_GGUF_SUITE} vs transformers GGUF goldens`, () => {
  const shared = HAS_SHARED_GGUF
    ? [STORIES_GGUF_DIR, QUANT_SAMPLES_DIR].flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.gguf')).sort().map((f) => join(dir, f)))
    : [];
  for (const file of shared) {
    it(`${basename(file)} matches transformers`, async () => {
      await expectParity(file, `shared-${basename(file, '.gguf')}`);
    });
  }

  it('llama.cpp\'s f32 stories260K gives the logits of the safetensors model, bit for bit', async () => {
    const request = { promptIds: [1, 403, 407, 261, 378], maxNewTokens: 8, stopOnEos: false, logits: 'all' as const, sampling: { greedy: true } };
    const out: GenerateResult[] = [];
    for (const model of [join(STORIES_GGUF_DIR, 'stories260K-f32.gguf'), join(STORIES_GGUF_DIR, '..', 'stories260K')]) {
      const engine = InferenceEngine.open(buildLoadPlan(model), {});
      out.push(await engine.generate(request));
      engine.close();
    }
    expect(out[0].tokens).toEqual(out[1].tokens);
    out[0].logits.forEach((l, i) => expect(Buffer.from(out[1].logits[i].buffer).equals(Buffer.from(l.buffer))).toBe(true));
  });
});

describe('backends without quantized kernels', () => {
  it('refuse a quantized file by type and tensor when the engine is made (the CUDA code path, emulated)', () => {
    const files = buildGgufFixtures();
    expect(() => InferenceEngine.open(buildLoadPlan(files['llama-tied-Q4_K_M']), { emulateDevice: true })).toThrow(
      /backend does not run Q6_K \(block-quantized\) weights, which embed_tokens has; quantized GGUF files run on the CPU backend/,
    );
    const engine = InferenceEngine.open(buildLoadPlan(files['llama-tied-F16']), { emulateDevice: true });
    engine.close();
  });
});
