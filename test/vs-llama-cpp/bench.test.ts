import { describe, expect, it } from 'vitest';
import { vsLlamaMarkdown, vsLlamaRows, type VsLlamaMeasurement } from '../../bench/vs-llama-cpp/bench.js';

const model = { shape: 's', type: 'Q8_0', file: '/m.gguf', weight_bytes_per_token: 100e6 };
const m = (round: number, runner: VsLlamaMeasurement['runner'], prefill: number | null, decode: number | null, error: string | null = null): VsLlamaMeasurement =>
  ({ round, shape: 's', type: 'Q8_0', runner, error, prefill_tok_s: prefill, decode_tok_s: decode, peak_rss_bytes: prefill === null ? null : 2 ** 28 });

describe('bench:vs-llama-cpp rows', () => {
  it('medians over rounds, ratios to llama.cpp from the same rounds, the roofline from the bandwidth', () => {
    const rows = vsLlamaRows([model], [
      m(0, 'engine-resident', 400, 50), m(0, 'engine-streaming', 380, 25), m(0, 'llama.cpp', 800, 100),
      m(1, 'engine-resident', 420, 60), m(1, 'engine-streaming', null, null, 'exit 1'), m(1, 'llama.cpp', 600, 90),
      m(2, 'engine-resident', 410, 55), m(2, 'engine-streaming', 390, 27), m(2, 'llama.cpp', 700, 110),
    ], 30e9);
    expect(rows.map((r) => r.runner)).toEqual(['engine-resident', 'engine-streaming', 'llama.cpp']);
    const [resident, streaming, llama] = rows;
    expect(resident).toMatchObject({ rounds: 3, prefill_tok_s: 410, decode_tok_s: 55, decode_range: [50, 60], roofline_tok_s: 300 });
    expect(resident.prefill_vs_llama_cpp).toBeCloseTo(410 / 700, 12);
    expect(resident.decode_vs_llama_cpp).toBeCloseTo(0.55, 12);
    expect(resident.roofline_share).toBeCloseTo(55 / 300, 12);
    expect(streaming).toMatchObject({ rounds: 2, errors: ['round 2: exit 1'], decode_tok_s: 26 });
    expect(llama.decode_vs_llama_cpp).toBe(1);
    const md = vsLlamaMarkdown(rows);
    expect(md).toMatch(/\| s \| Q8_0 \| engine-resident \| 410\.0 \| 55\.0 \(50\.0–60\.0\) \| 0\.59× \| 0\.55× \| 300\.0 \| 18% \| 256 \|/);
    expect(md).toMatch(/\| engine-streaming \| .* round 2: exit 1$/m);
    expect(md).toMatch(/llama\.cpp: prefill = one llama_decode of the prompt/);
  });

  it('without llama.cpp the engine rows have no ratios', () => {
    const [row] = vsLlamaRows([model], [m(0, 'engine-resident', 400, 50)], 30e9);
    expect(row).toMatchObject({ prefill_vs_llama_cpp: null, decode_vs_llama_cpp: null });
    expect(vsLlamaMarkdown([row])).toMatch(/\| n\/a \| n\/a \|/);
  });
});
