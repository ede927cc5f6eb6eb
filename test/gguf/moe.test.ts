// Mixture-of-experts models as GGUF files: `quantize` writes llama.cpp's layout (each kind of
// expert matrix of a layer stacked over the experts, the router as ffn_gate_inp, Qwen2-MoE's
// shared expert as *_shexp), the reader slices the stacks back into per-expert tensors, and the
// engine then computes exactly what it computes on the safetensors checkpoint (which is checked
// against transformers). llama.cpp, which did not write these files, runs them too and agrees.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine, type EngineOptions } from '../../bench/engine/engine.js';
import { locateLlamaCpp } from '../../bench/llama-cpp/locate.js';
import { buildLoadPlan } from '../../bench/model/plan.js';
import { cosine } from '../../bench/reference/compare.js';
import { quantizeModel } from '../../bench/quantize/quantize.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { MOE_FIXTURES } from '../helpers/fixture-kinds.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';
import { tempDirs } from '../helpers/temp.js';

const tempDir = tempDirs();
const llama = locateLlamaCpp();

async function logits(model: string, options: EngineOptions = {}) {
  const plan = buildLoadPlan(model);
  const engine = InferenceEngine.open(plan, options);
  try {
    const promptIds = Array.from({ length: 30 }, (_, i) => (i * 37 + 5) % plan.spec.vocabSize);
    const r = await engine.generate({ promptIds, maxNewTokens: 6, logits: 'all', stopOnEos: false });
    return { tokens: r.tokens, logits: r.logits.map((l) => Array.from(l)) };
  } finally {
    engine.close();
  }
}

describe('mixture-of-experts GGUF files', () => {
  let dirs: Record<string, string>;
  const written: Record<string, string> = {};
  beforeAll(() => {
    dirs = buildFixtures(TEST_FIXTURES_DIR);
    const out = tempDir('rb-moe-gguf-');
    for (const name of MOE_FIXTURES) {
      written[name] = join(out, `${name}-F32.gguf`);
      quantizeModel({ model: dirs[name], type: 'F32', out: written[name], force: false });
    }
  }, 120_000);

  for (const name of MOE_FIXTURES) {
    it(`${name}: the F32 GGUF file loads with the same routing spec and gives bit-identical logits to the safetensors checkpoint`, async () => {
      const st = buildLoadPlan(dirs[name]);
      const gguf = buildLoadPlan(written[name]);
      expect(gguf.spec.architecture).toBe(st.spec.architecture);
      expect(gguf.spec.moe).toEqual(st.spec.moe);
      expect(gguf.layers.map((l) => l.experts?.length ?? 0)).toEqual(st.layers.map((l) => l.experts?.length ?? 0));
      expect(gguf.unusedTensors).toEqual([]);
      const want = await logits(dirs[name]);
      for (const options of [{}, { expertCacheBytes: 0 }, { expertStreaming: false }] as EngineOptions[]) {
        const got = await logits(written[name], options);
        expect(got.tokens, JSON.stringify(options)).toEqual(want.tokens);
        expect(got.logits, JSON.stringify(options)).toEqual(want.logits);
      }
    });
  }

  it('a quantized mix (Q8_0) slices its stacked expert blocks row-exactly: the logits stay close to f32', async () => {
    const file = join(tempDir('rb-moe-q8-'), 'mixtral-Q8_0.gguf');
    quantizeModel({ model: dirs['mixtral-8x-top2-bf16'], type: 'Q8_0', out: file, force: false });
    const plan = buildLoadPlan(file);
    const [a, b] = plan.layers[0].experts!;
    expect(a.gate_proj.dtype).toBe('Q8_0');
    expect(b.gate_proj.offset - a.gate_proj.offset).toBe(a.gate_proj.bytes);
    const q8 = await logits(file);
    const f32 = await logits(written['mixtral-8x-top2-bf16']);
    expect(cosine(q8.logits[0], f32.logits[0])).toBeGreaterThan(0.999);
  });

  it('an expert_count that contradicts the expert stacks is a clear error', () => {
    const bytes = readFileSync(written['qwen3moe-topk-all-f32']);
    const key = Buffer.from('qwen3moe.expert_count');
    const at = bytes.indexOf(key);
    expect(at).toBeGreaterThan(0);
    // The key is followed by its value type (u32) and the value.
    expect(bytes.readUInt32LE(at + key.length + 4)).toBe(4);
    bytes.writeUInt32LE(5, at + key.length + 4);
    const bad = join(tempDir('rb-moe-bad-'), 'bad.gguf');
    writeFileSync(bad, bytes);
    expect(() => buildLoadPlan(bad)).toThrow(/tensor 'blk\.0\.ffn_(gate|up|down)_exps\.weight' has shape \[4, \d+, \d+\], expert_count 5 implies \[5, rows, cols\]/);
  });

  // llama.cpp runs a sparse layer only where every layer is sparse, so the fixtures whose config
  // makes a layer dense (mlp_only_layers, decoder_sparse_step) are checked above only.
  describe.skipIf(!llama.found)(`against llama.cpp${llama.found ? '' : ` (skipped: ${llama.reason})`}`, () => {
    for (const name of ['mixtral-8x-top2-bf16', 'qwen3moe-topk-all-f32']) {
      it(`${name}: llama.cpp gives the same greedy tokens and top 5, short and long prompts`, async () => {
        const prompts = join(tempDir('rb-moe-llama-'), 'prompts.json');
        const long = Array.from({ length: 160 }, (_, i) => 3 + ((i * 53) % 250));
        writeFileSync(prompts, JSON.stringify([{ name: 'short', ids: [1, 5, 17, 99, 3, 42, 8, 61] }, { name: 'long', ids: [1, ...long] }]));
        const r = await runCli(['parity', '--llama-cpp', '--model', written[name], '--prompts', prompts, '--max-new-tokens', '16', '--json']);
        expect(r.status, r.stderr).toBe(0);
        const doc = JSON.parse(r.stdout);
        expect(doc.pass).toBe(true);
        expect(doc.cases.map((c: { name: string; metrics: { greedyPrefix: number; top5Overlap: number } }) => [c.name, c.metrics.greedyPrefix, c.metrics.top5Overlap]))
          .toEqual([['short', 16, 5], ['long', 16, 5]]);
      }, 120_000);
    }
  });
});
