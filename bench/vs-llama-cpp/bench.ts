// npm run bench:vs-llama-cpp: the engine (resident and streamed) and llama.cpp on the same GGUF
// files; each child run is one measurement, the rounds of a model x runner one row of medians,
// with ratios to llama.cpp measured in the same rounds and the decode roofline.
import { median } from '../stats.js';

export const RUNNERS = ['engine-resident', 'engine-streaming', 'llama.cpp'] as const;
export type Runner = (typeof RUNNERS)[number];

/** What each runner's figures include, for the table's notes. */
export const RUNNER_NOTES: Record<Runner, string> = {
  'engine-resident': 'prefill = the prefill step + choosing the first token; decode = each decode step + sampling; layers kept after the first load',
  'engine-streaming': 'as resident, with every unit re-read (pread, warm page cache) in every step',
  'llama.cpp': 'prefill = one llama_decode of the prompt; decode = one llama_decode per token, no sampling (llama-bench pp / tg); weights mmapped',
};

export interface VsLlamaModel {
  shape: string;
  type: string;
  file: string;
  /** Decoder-layer + lm_head bytes a decode token reads. */
  weight_bytes_per_token: number;
}

export interface VsLlamaMeasurement {
  round: number;
  shape: string;
  type: string;
  runner: Runner;
  error: string | null;
  prefill_tok_s: number | null;
  decode_tok_s: number | null;
  peak_rss_bytes: number | null;
}

export interface VsLlamaRow {
  shape: string;
  type: string;
  runner: Runner;
  rounds: number;
  errors: string[];
  prefill_tok_s: number | null;
  decode_tok_s: number | null;
  /** Slowest and fastest round: how much whole runs move. */
  decode_range: [number, number] | null;
  peak_rss_bytes: number | null;
  prefill_vs_llama_cpp: number | null;
  decode_vs_llama_cpp: number | null;
  /** Memory bandwidth / bytes per token, and the decode rate as a share of it. */
  roofline_tok_s: number;
  roofline_share: number | null;
}

const medianOf = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length > 0 ? median(v) : null;
};
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);

export function vsLlamaRows(models: readonly VsLlamaModel[], ms: readonly VsLlamaMeasurement[], memoryBytesPerS: number): VsLlamaRow[] {
  return models.flatMap((model) => {
    const of = (runner: Runner) => ms.filter((m) => m.shape === model.shape && m.type === model.type && m.runner === runner);
    const llama = of('llama.cpp').filter((m) => m.error === null);
    const llamaPrefill = medianOf(llama.map((m) => m.prefill_tok_s));
    const llamaDecode = medianOf(llama.map((m) => m.decode_tok_s));
    const roofline = memoryBytesPerS / model.weight_bytes_per_token;
    return RUNNERS.flatMap((runner) => {
      const all = of(runner);
      if (all.length === 0) return [];
      const ok = all.filter((m) => m.error === null);
      const decodes = ok.map((m) => m.decode_tok_s).filter((x): x is number => x !== null);
      const prefill = medianOf(ok.map((m) => m.prefill_tok_s));
      const decode = medianOf(decodes);
      return [{
        shape: model.shape,
        type: model.type,
        runner,
        rounds: ok.length,
        errors: all.flatMap((m) => (m.error === null ? [] : [`round ${m.round + 1}: ${m.error}`])),
        prefill_tok_s: prefill,
        decode_tok_s: decode,
        decode_range: decodes.length > 0 ? [Math.min(...decodes), Math.max(...decodes)] : null,
        peak_rss_bytes: medianOf(ok.map((m) => m.peak_rss_bytes)),
        prefill_vs_llama_cpp: ratio(prefill, llamaPrefill),
        decode_vs_llama_cpp: ratio(decode, llamaDecode),
        roofline_tok_s: roofline,
        roofline_share: decode === null ? null : decode / roofline,
      }];
    });
  });
}

const f = (x: number | null, digits = 1) => (x === null ? 'n/a' : x.toFixed(digits));
const x = (r: number | null) => (r === null ? 'n/a' : `${r.toFixed(2)}×`);

export function vsLlamaMarkdown(rows: readonly VsLlamaRow[]): string {
  const lines = [
    '| shape | type | runner | prefill tok/s | decode tok/s (range) | ÷ llama.cpp prefill | ÷ llama.cpp decode | roofline tok/s | % of roofline | peak RSS MiB |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.shape} | ${r.type} | ${r.runner} | ${f(r.prefill_tok_s)} | ${f(r.decode_tok_s)}` +
      `${r.decode_range ? ` (${f(r.decode_range[0])}–${f(r.decode_range[1])})` : ''} | ${x(r.prefill_vs_llama_cpp)} | ${x(r.decode_vs_llama_cpp)} | ` +
      `${f(r.roofline_tok_s)} | ${r.roofline_share === null ? 'n/a' : `${(100 * r.roofline_share).toFixed(0)}%`} | ${r.peak_rss_bytes === null ? 'n/a' : (r.peak_rss_bytes / 2 ** 20).toFixed(0)} |` +
      `${r.errors.length > 0 ? ` ${r.errors.join('; ')}` : ''}`),
    '',
    ...RUNNERS.map((r) => `- ${r}: ${RUNNER_NOTES[r]}`),
  ];
  return `${lines.join('\n')}\n`;
}
