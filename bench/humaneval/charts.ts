// humaneval's charts: the pass rate (pass@k, and on HumanEval+ the base tests' too), and every
// problem's samples coloured by how they ended.
import { axisChart, PALETTE, round, statusMatrixChart } from '../report/charts.js';
import type { ReportChart } from '../report/report.js';
import { SAMPLE_STATUSES, type SampleStatus } from './records.js';
import type { HumanevalResult } from './schema.js';

const STATUS_COLORS: Record<SampleStatus, string> = { passed: PALETTE[1], failed: PALETTE[3], timeout: PALETTE[6], error: PALETTE[4] };

function passRateChart(doc: HumanevalResult): ReportChart {
  const s = doc.summary;
  const ks = Object.keys(s.pass_at_k);
  const pct = (v: number | undefined) => (v === undefined ? null : round(100 * v, 1));
  const plus = doc.dataset.plus;
  return axisChart({
    id: 'pass-rate',
    title: `Pass rate: ${s.passed} of ${s.samples} samples passed (${s.problems} problems)`,
    categories: ks,
    yAxis: { type: 'value', name: '%', max: 100 },
    series: [
      { type: 'bar', name: plus ? 'base + plus tests' : 'tests', data: ks.map((k) => pct(s.pass_at_k[k])), itemStyle: { color: PALETTE[0] }, label: { show: true, position: 'top' } },
      ...(s.pass_at_k_base ? [{ type: 'bar' as const, name: 'base tests only', data: ks.map((k) => pct(s.pass_at_k_base![k])), itemStyle: { color: PALETTE[5] }, label: { show: true, position: 'top' as const } }] : []),
    ],
  });
}

function problemsChart(doc: HumanevalResult): ReportChart {
  const problems = [...new Set(doc.records.map((r) => r.task_id))];
  const samples = Math.max(1, ...doc.records.map((r) => r.sample + 1));
  return statusMatrixChart({
    id: 'problems',
    title: `Every problem's samples (${problems.length} problems × ${samples} sample${samples === 1 ? '' : 's'})`,
    height: 130 + 16 * samples,
    columns: problems.map((p) => p.replace(/^.*\//, '')),
    rows: Array.from({ length: samples }, (_, i) => `sample ${i}`),
    statuses: SAMPLE_STATUSES,
    colors: STATUS_COLORS,
    cells: doc.records.map((r) => ({ column: problems.indexOf(r.task_id), row: r.sample, status: r.status })),
    labels: false,
    columnAxis: { name: 'problem', fontSize: 9 },
  });
}

export function humanevalCharts(doc: HumanevalResult): ReportChart[] {
  return doc.records.length > 0 ? [passRateChart(doc), problemsChart(doc)] : [passRateChart(doc)];
}
