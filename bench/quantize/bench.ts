// The logic of `npm run bench:quant`: medians over interleaved rounds of each (model, type, mode),
// ratios against the bf16 checkpoint measured in the same rounds, the targets, and the
// tables. Measuring (child processes) lives in scripts/bench-quant.ts.
import type { ReportTable } from '../report/report.js';
import { median } from '../stats.js';

export const MODES = ['resident', 'streaming'] as const;
export type Mode = (typeof MODES)[number];

/** One child run: a model in one type, one mode, one round. */
export interface QuantMeasurement {
  round: number;
  shape: string;
  /** 'BF16' is the safetensors checkpoint everything else is quantized from. */
  type: string;
  mode: Mode;
  error: string | null;
  prefill_tok_s: number | null;
  decode_tok_s: number | null;
  /** Bytes the engine read per decode step (streaming; the weights a token needs). */
  bytes_per_decode_step: number | null;
  peak_rss_bytes: number | null;
}

export interface QuantModel {
  shape: string;
  type: string;
  path: string;
  /** Weight bytes a decode token reads (decoder layers + lm_head), from the load plan. */
  decode_weight_bytes: number;
  file_bytes: number;
}

export interface QuantRow {
  shape: string;
  type: string;
  decode_weight_bytes: number;
  bytes_ratio: number;
  measured_bytes_per_step: number | null;
  resident_prefill_tok_s: number | null;
  resident_decode_tok_s: number | null;
  resident_decode_ratio: number | null;
  streaming_decode_tok_s: number | null;
  streaming_decode_ratio: number | null;
  peak_rss_resident_bytes: number | null;
  rounds: number;
}

function medianOf(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length > 0 ? median(v) : null;
}

export function aggregate(models: QuantModel[], measurements: QuantMeasurement[]): QuantRow[] {
  const of = (m: QuantModel, mode: Mode) => measurements.filter((x) => x.shape === m.shape && x.type === m.type && x.mode === mode && x.error === null);
  const decode = (m: QuantModel, mode: Mode) => medianOf(of(m, mode).map((x) => x.decode_tok_s));
  return models.map((m) => {
    const base = models.find((b) => b.shape === m.shape && b.type === 'BF16');
    const ratio = (mine: number | null, theirs: number | null) => (mine !== null && theirs ? mine / theirs : null);
    const resident = decode(m, 'resident');
    const streaming = decode(m, 'streaming');
    return {
      shape: m.shape,
      type: m.type,
      decode_weight_bytes: m.decode_weight_bytes,
      bytes_ratio: base ? m.decode_weight_bytes / base.decode_weight_bytes : 1,
      measured_bytes_per_step: medianOf(of(m, 'streaming').map((x) => x.bytes_per_decode_step)),
      resident_prefill_tok_s: medianOf(of(m, 'resident').map((x) => x.prefill_tok_s)),
      resident_decode_tok_s: resident,
      resident_decode_ratio: base ? ratio(resident, decode(base, 'resident')) : null,
      streaming_decode_tok_s: streaming,
      streaming_decode_ratio: base ? ratio(streaming, decode(base, 'streaming')) : null,
      peak_rss_resident_bytes: medianOf(of(m, 'resident').map((x) => x.peak_rss_bytes)),
      rounds: of(m, 'resident').length,
    };
  });
}

export interface QuantTarget {
  what: string;
  shape: string;
  measured: number | null;
  pass: boolean | null;
}

/** Issue 11's targets, on every shape measured. */
export function evaluateTargets(rows: QuantRow[]): QuantTarget[] {
  const targets: QuantTarget[] = [];
  for (const shape of [...new Set(rows.map((r) => r.shape))]) {
    const row = (type: string) => rows.find((r) => r.shape === shape && r.type === type);
    const add = (what: string, type: string, pick: (r: QuantRow) => number | null, ok: (v: number) => boolean) => {
      const r = row(type);
      if (!r) return;
      const measured = pick(r);
      targets.push({ what, shape, measured, pass: measured === null ? null : ok(measured) });
    };
    add('Q4_K_M reads <= 0.42x the bf16 bytes per streamed token', 'Q4_K_M', (r) => (r.measured_bytes_per_step && row('BF16')?.measured_bytes_per_step ? r.measured_bytes_per_step / row('BF16')!.measured_bytes_per_step! : null), (v) => v <= 0.42);
    add('resident decode Q4_K_M >= 2.0x bf16', 'Q4_K_M', (r) => r.resident_decode_ratio, (v) => v >= 2.0);
    add('resident decode Q8_0 >= 1.6x bf16', 'Q8_0', (r) => r.resident_decode_ratio, (v) => v >= 1.6);
  }
  return targets;
}

const MiB = 2 ** 20;
const fmt = (v: number | null, digits = 1) => (v === null ? '-' : v.toFixed(digits));
const times = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}x`);

export function quantTable(rows: QuantRow[]): ReportTable {
  return {
    title: 'Types side by side (medians over rounds)',
    head: ['model', 'type', 'MiB / decode token', '× bf16 bytes', 'measured MiB / streamed step', 'resident prefill tok/s',
      'resident decode tok/s', 'decode ÷ bf16', 'streamed decode tok/s', 'streamed ÷ bf16', 'peak RSS MiB (resident)'],
    rows: rows.map((r) => [r.shape, r.type, fmt(r.decode_weight_bytes / MiB), times(r.bytes_ratio),
      fmt(r.measured_bytes_per_step === null ? null : r.measured_bytes_per_step / MiB), fmt(r.resident_prefill_tok_s),
      fmt(r.resident_decode_tok_s), times(r.resident_decode_ratio), fmt(r.streaming_decode_tok_s), times(r.streaming_decode_ratio),
      fmt(r.peak_rss_resident_bytes === null ? null : r.peak_rss_resident_bytes / MiB, 0)]),
  };
}

export function targetsTable(targets: QuantTarget[]): ReportTable {
  return {
    title: 'Targets',
    head: ['target', 'model', 'measured', 'result'],
    rows: targets.map((t) => [t.what, t.shape, t.measured === null ? '-' : t.measured.toFixed(2), t.pass === null ? 'not measured' : t.pass ? 'met' : 'MISSED']),
  };
}
