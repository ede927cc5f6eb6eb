// NaN or Inf in a model's weights must stop a run with an error that names where they first
// appeared, on every CPU kernel set: SIMD max and clamp instructions would otherwise turn them
// into finite, wrong logits on AVX2/AVX-512 (and NaN logits on the portable kernels), exit 0.
import { copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader } from '../../bench/model/gguf/reader.js';
import { defaultPython, pythonProblem } from '../../bench/reference/live.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { buildGgufFixtures } from '../fixtures/gguf.js';
import { runCli } from '../helpers/cli.js';
import { KERNEL_SETS } from '../helpers/cpu.js';
import { tempDirs } from '../helpers/temp.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';

const temp = tempDirs();
const KERNELS = KERNEL_SETS.filter((k) => k.runs).map((k) => k.isa);

let fixtures: Record<string, string>;
let gguf: Record<string, string>;
beforeAll(() => {
  fixtures = buildFixtures(TEST_FIXTURES_DIR);
  gguf = buildGgufFixtures();
});

/** A copy of a safetensors fixture with element `index` of `tensor` set to `value` (f32 fixtures). */
function poisoned(fixture: string, tensor: string, value: number, index = 0): string {
  const dir = join(temp('rb-nonfinite-'), 'model');
  cpSync(fixtures[fixture], dir, { recursive: true });
  const indexFile = join(dir, 'model.safetensors.index.json');
  const file = join(dir, existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, 'utf8')).weight_map[tensor] : 'model.safetensors');
  const bytes = readFileSync(file);
  const headerBytes = Number(bytes.readBigUInt64LE(0));
  const entry = JSON.parse(bytes.subarray(8, 8 + headerBytes).toString('utf8'))[tensor];
  expect(entry.dtype).toBe('F32');
  bytes.writeFloatLE(value, 8 + headerBytes + entry.data_offsets[0] + 4 * index);
  writeFileSync(file, bytes);
  return dir;
}

async function generate(model: string, env: Record<string, string> = {}) {
  return runCli(['generate', '--model', model, '--prompt-ids', '1,2,3', '--max-new-tokens', '2', '--json'], env);
}

const F32 = 'llama-tied-gqa-f32';

describe('non-finite weights stop the run, naming the unit', () => {
  for (const isa of KERNELS) {
    it(`${isa} kernels: a NaN in q_proj of layer 0`, async () => {
      const r = await generate(poisoned(F32, 'model.layers.0.self_attn.q_proj.weight', NaN, 3), { RABBIT_BENCH_CPU_KERNELS: isa });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        'rabbit-bench: error: NaN or Inf first appeared in layers.0, at the output of q_proj, during the prefill of 3 tokens: ' +
          'the weights it reads hold NaN or Inf (or it was fed them), so any output would be wrong\n',
      );
    });
  }

  it('an Inf in down_proj of the last layer, a NaN in an embedding row, in the final norm, in an untied lm_head', async () => {
    expect((await generate(poisoned(F32, 'model.layers.1.mlp.down_proj.weight', Infinity, 5))).stderr).toMatch(/first appeared in layers\.1, at the output of down_proj,/);
    // Token 1's row: values 64..127 of the matrix (hidden size 64).
    expect((await generate(poisoned(F32, 'model.embed_tokens.weight', NaN, 70))).stderr).toMatch(/first appeared in embed, in the embed_tokens rows of the step's tokens, during the prefill/);
    expect((await generate(poisoned(F32, 'model.norm.weight', NaN, 0))).stderr).toMatch(/first appeared in lm_head, at the output of norm,/);
    // Untied: found in the logits themselves.
    expect((await generate(poisoned('qwen3-headdim-qknorm-f32', 'lm_head.weight', NaN, 0))).stderr).toMatch(/first appeared in lm_head, at the output of lm_head,/);
  });

  it('streamed and resident alike, and profile exits 2 too', async () => {
    const model = poisoned(F32, 'model.layers.1.self_attn.v_proj.weight', -Infinity, 0);
    const resident = await runCli(['generate', '--model', model, '--prompt-ids', '1,2,3', '--max-new-tokens', '2', '--resident']);
    expect(resident.status).toBe(2);
    expect(resident.stderr).toMatch(/first appeared in layers\.1, at the output of v_proj,/);
    const profile = await runCli(['profile', '--model', model, '--runs', '1', '--warmup', '0', '--prompt-tokens', '4', '--max-new-tokens', '2', '--no-save']);
    expect(profile.status).toBe(2);
    expect(profile.stderr).toMatch(/first appeared in layers\.1, at the output of v_proj,/);
  });

  it('a block-quantized file: a NaN block scale in Q8_0 (every kernel set)', async () => {
    const file = join(temp('rb-nonfinite-'), 'model.gguf');
    copyFileSync(gguf['llama-tied-Q8_0'], file);
    const t = readGgufHeader(file).tensors.find((x) => x.name === 'blk.1.ffn_down.weight')!;
    expect(t.ggmlType.name).toBe('Q8_0');
    const bytes = readFileSync(file);
    bytes.writeUInt16LE(0x7e00, t.offset); // f16 NaN as the first block's scale
    writeFileSync(file, bytes);
    for (const isa of KERNELS) {
      const r = await generate(file, { RABBIT_BENCH_CPU_KERNELS: isa });
      expect(r.status, `${isa}: ${r.stderr}`).toBe(2);
      expect(r.stderr, isa).toMatch(/first appeared in layers\.1, at the output of down_proj,/);
    }
  });

  it('quantize refuses NaN or Inf for a block format, naming the tensor; f16 keeps them as they are', async () => {
    const model = poisoned(F32, 'model.layers.1.mlp.up_proj.weight', NaN, 9);
    const out = join(temp('rb-nonfinite-'), 'q.gguf');
    const q8 = await runCli(['quantize', '--model', model, '--type', 'Q8_0', '--out', out]);
    expect(q8.status, q8.stderr).toBe(2);
    expect(q8.stderr).toMatch(/model\.layers\.1\.mlp\.up_proj\.weight: holds NaN or Inf, which Q8_0 cannot store/);
    expect(existsSync(out)).toBe(false);
    const f16 = await runCli(['quantize', '--model', model, '--type', 'F16', '--out', out]);
    expect(f16.status, f16.stderr).toBe(0);
    expect((await generate(out)).stderr).toMatch(/first appeared in layers\.1, at the output of up_proj,/);
  });

  const python = defaultPython();
  const noPython = python ? pythonProblem(python) : 'no .venv-hf (run scripts/setup-hf-venv.sh)';
  it.skipIf(noPython !== undefined)(`parity and validate against transformers say so, not pass${noPython ? ` (skipped: ${noPython})` : ''}`, async () => {
    const model = poisoned(F32, 'model.layers.0.mlp.gate_proj.weight', NaN, 1);
    const parity = await runCli(['parity', '--model', model, '--python', python!]);
    expect(parity.status).toBe(1);
    expect(parity.stderr).toMatch(/the HF reference script failed/);
    expect(parity.stderr).toMatch(/case 'short': the model produced non-finite logits/);
    const validate = await runCli(['validate', '--fixtures', 'none', '--models', model, '--prompts', 'short', '--python', python!, '--no-save', '--json']);
    expect(validate.status).toBe(1);
    const doc = JSON.parse(validate.stdout);
    expect(doc.cells.map((c: { status: string }) => c.status)).toEqual(['error']);
    expect(doc.cells[0].reason).toMatch(/non-finite logits/);
  });

  it('clean fixtures still run', async () => {
    const r = await generate(fixtures[F32]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tokens).toHaveLength(2);
  });
});
