// bench:vs-hf's charts: each runner's decode rate against its roofline, and its prefill rate.
import { rooflineCategories, rooflineChart } from '../report/charts.js';
import type { ReportChart } from '../report/report.js';
import { RUNNERS, type VsHfFile } from './schema.js';

export function vsHfCharts(file: VsHfFile): ReportChart[] {
  const runners = RUNNERS.filter((r) => file.rows.some((row) => row.runner === r));
  const label = (r: VsHfFile['rows'][number]) => `${r.model} ${r.dtype}`;
  return [
    rooflineChart('decode', 'Decode tok/s (median over rounds); the marks: each runner\'s roofline, bandwidth ÷ the bytes a token reads', 'tok/s', runners,
      rooflineCategories(file.rows, label, (r) => r.decode_tok_s, (r) => r.roofline.limit_tok_s)),
    rooflineChart('prefill', 'Prefill tok/s (median over rounds)', 'tok/s', runners, rooflineCategories(file.rows, label, (r) => r.prefill_tok_s)),
  ];
}
