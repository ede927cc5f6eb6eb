// bench:vs-llama-cpp's charts: each runner's decode rate against its roofline, and its prefill rate.
import { rooflineCategories, rooflineChart } from '../report/charts.js';
import type { ReportChart } from '../report/report.js';
import { RUNNERS, type VsLlamaCppFile } from './schema.js';

export function vsLlamaCppCharts(file: VsLlamaCppFile): ReportChart[] {
  const runners = RUNNERS.filter((r) => file.rows.some((row) => row.runner === r));
  const label = (r: VsLlamaCppFile['rows'][number]) => `${r.shape} ${r.type}`;
  return [
    rooflineChart('decode', 'Decode tok/s (median over rounds); the marks: each runner\'s roofline, memory bandwidth ÷ the bytes a token reads', 'tok/s', runners,
      rooflineCategories(file.rows, label, (r) => r.decode_tok_s, (r) => r.roofline_tok_s)),
    rooflineChart('prefill', 'Prefill tok/s (median over rounds)', 'tok/s', runners, rooflineCategories(file.rows, label, (r) => r.prefill_tok_s)),
  ];
}
