// npm run bench:cold: one model profiled warm, --cold=run and --cold=step side by side; each
// profile's summary becomes one measurement, and the rounds of a mode one row of medians.
import { markdownTables } from '../report/printers/markdown.js';
import type { ReportTable } from '../report/report.js';
import { summarize, type Summary } from '../stats.js';
import type { ProfileSummary } from './summary.js';

export const COLD_MODES = ['warm', 'cold-run', 'cold-step'] as const;
export type ColdMode = (typeof COLD_MODES)[number];

/** The profile flags of each mode. */
export const MODE_FLAGS: Record<ColdMode, string[]> = { warm: [], 'cold-run': ['--cold=run'], 'cold-step': ['--cold=step'] };

export interface ColdMeasurement {
  round: number;
  mode: ColdMode;
  /** Per measured run (medians over the profile's runs). */
  bytes_read: number;
  device_bytes_read: number | null;
  read_mb_per_s: number | null;
  decode_tok_per_s: number | null;
  verdict: string;
}

export function measurementOf(round: number, mode: ColdMode, s: ProfileSummary): ColdMeasurement {
  return {
    round,
    mode,
    bytes_read: s.bytes_read.median,
    device_bytes_read: s.device_bytes_read?.median ?? null,
    read_mb_per_s: s.read_mb_per_s?.median ?? null,
    decode_tok_per_s: s.decode.tok_per_s?.median ?? null,
    verdict: s.verdict.bottleneck,
  };
}

export interface ColdRow {
  mode: ColdMode;
  rounds: number;
  bytes_read: Summary;
  device_bytes_read: Summary | null;
  /** Device bytes over bytes read, median over the rounds. */
  device_share: number | null;
  read_mb_per_s: Summary | null;
  decode_tok_per_s: Summary | null;
  /** Every round's verdict, in order. */
  verdicts: string[];
}

const summaryOf = (values: (number | null)[]): Summary | null =>
  values.length > 0 && values.every((v) => v !== null) ? summarize(values as number[]) : null;

export function coldRows(measurements: readonly ColdMeasurement[]): ColdRow[] {
  return COLD_MODES.flatMap((mode) => {
    const ms = measurements.filter((m) => m.mode === mode);
    if (ms.length === 0) return [];
    const shares = ms.map((m) => (m.device_bytes_read === null ? null : Math.min(1, m.device_bytes_read / m.bytes_read)));
    return [{
      mode,
      rounds: ms.length,
      bytes_read: summarize(ms.map((m) => m.bytes_read)),
      device_bytes_read: summaryOf(ms.map((m) => m.device_bytes_read)),
      device_share: summaryOf(shares)?.median ?? null,
      read_mb_per_s: summaryOf(ms.map((m) => m.read_mb_per_s)),
      decode_tok_per_s: summaryOf(ms.map((m) => m.decode_tok_per_s)),
      verdicts: ms.map((m) => m.verdict),
    }];
  });
}

const gb = (b: number) => (b / 1e9).toFixed(2);
const range = (s: Summary | null, f: (x: number) => string) => (s ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : 'n/a');

export function coldMarkdown(rows: readonly ColdRow[], deviceLimitMBps: number | null): string {
  const table: ReportTable = {
    title: 'Cache modes (median, range over rounds)',
    head: ['mode', 'GB read / run', 'GB from the device / run', 'device share', 'read MB/s', 'decode tok/s', 'verdict'],
    rows: rows.map((r) => [r.mode, gb(r.bytes_read.median), r.device_bytes_read ? gb(r.device_bytes_read.median) : 'n/a',
      r.device_share === null ? 'n/a' : `${(100 * r.device_share).toFixed(0)}%`, range(r.read_mb_per_s, (x) => x.toFixed(0)),
      range(r.decode_tok_per_s, (x) => x.toFixed(2)), [...new Set(r.verdicts)].join(', ')]),
  };
  const limit = deviceLimitMBps === null ? '' : `\nenv's cold-disk limit for the model's folder: ${deviceLimitMBps.toFixed(0)} MB/s\n`;
  return `${markdownTables([table])}\n${limit}`;
}
