// Headline timings of one generation, from the engine's step records, and its report.
import { stepTotals } from '../profile/phases.js';
import type { Report } from '../report/report.js';
import type { StepRecord } from './records.js';

export interface GenerationTimings {
  prompt_tokens: number;
  generated_tokens: number;
  /** Time to first token: the prefill step plus choosing the token. */
  ttft_ms: number;
  decode_ms: number;
  decode_tokens_per_s: number | null;
  ms_per_token: number | null;
  total_ms: number;
  bytes_read: number;
  peak_rss_bytes: number;
}

const ms = (ns: number) => ns / 1e6;

export function summarizeSteps(steps: StepRecord[], generated: number): GenerationTimings {
  const stepNs = (s: StepRecord) => s.wallNs + s.sampleNs;
  const prefill = steps.find((s) => s.kind === 'prefill');
  const decode = steps.filter((s) => s.kind === 'decode');
  const decodeNs = decode.reduce((a, s) => a + stepNs(s), 0);
  const totalNs = steps.reduce((a, s) => a + stepNs(s), 0);
  return {
    prompt_tokens: prefill?.tokens ?? 0,
    generated_tokens: generated,
    ttft_ms: prefill ? ms(stepNs(prefill)) : 0,
    decode_ms: ms(decodeNs),
    decode_tokens_per_s: decode.length > 0 && decodeNs > 0 ? decode.length / (decodeNs / 1e9) : null,
    ms_per_token: decode.length > 0 ? ms(decodeNs) / decode.length : null,
    total_ms: ms(totalNs),
    bytes_read: stepTotals(steps).bytesRead,
    peak_rss_bytes: steps.reduce((a, s) => Math.max(a, s.peakRssBytes), 0),
  };
}

export interface GenerationDoc {
  prompt_ids: number[];
  tokens: number[];
  text: string | null;
  stop_reason: string;
  last_logits?: number[];
  timings: GenerationTimings & { steps: StepRecord[] };
}

export function generationReport(doc: GenerationDoc): Report {
  const t = doc.timings;
  const f = (x: number | null, digits = 1) => (x === null ? 'n/a' : x.toFixed(digits));
  return {
    kind: 'generate',
    title: 'rabbit-bench generate',
    header: [doc.text ?? doc.tokens.join(',')],
    tables: [{
      title: `Timings (stop: ${doc.stop_reason})`,
      head: ['prompt tok', 'generated tok', 'TTFT ms', 'decode tok/s', 'ms / token', 'total ms', 'MiB read', 'peak RSS MiB'],
      rows: [[String(t.prompt_tokens), String(t.generated_tokens), f(t.ttft_ms), f(t.decode_tokens_per_s, 2), f(t.ms_per_token),
        f(t.total_ms), f(t.bytes_read / 2 ** 20), f(t.peak_rss_bytes / 2 ** 20, 0)]],
    }],
    notes: [],
    data: doc,
  };
}

export function formatTimings(t: GenerationTimings): string {
  const rate = t.decode_tokens_per_s === null ? 'n/a' : `${t.decode_tokens_per_s.toFixed(2)} tok/s`;
  return (
    `prompt ${t.prompt_tokens} tok · generated ${t.generated_tokens} tok · TTFT ${t.ttft_ms.toFixed(1)} ms · ` +
    `decode ${rate} · total ${t.total_ms.toFixed(1)} ms · read ${(t.bytes_read / 2 ** 20).toFixed(1)} MiB · ` +
    `peak RSS ${(t.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB`
  );
}
