// The profile's charts: where each unit's time goes, how the steps of the typical run add up, and
// how the measured runs compare. Loads on the prefetch thread overlap compute, so they stand
// beside the compute thread's phases, never stacked on them.
import type { BarSeriesOption } from 'echarts/types/dist/option';
import { summarizeSteps } from '../engine/summary.js';
import type { StepRecord } from '../engine/records.js';
import { axisChart, round } from '../report/charts.js';
import type { ReportChart } from '../report/report.js';
import type { ProfileFile } from '../results/profile-schema.js';
import { fromStepSample } from '../results/samples.js';
import { stepTotals, unitBackgroundLoadNs } from './phases.js';
import { typicalRunIndex, type ProfileSummary } from './summary.js';

/** One colour per phase in every chart. */
export const PHASE_COLORS = {
  load_safe_tensor: '#5b8ff9',
  load_safe_tensor_cpu_wait: '#f6bd16',
  create_layer: '#9270ca',
  forward_per_layer: '#5ad8a6',
  kv_fill: '#e8684a',
  sampling: '#6dc8ec',
  unaccounted: '#bbbbbb',
} as const;

const ms = (ns: number) => round(ns / 1e6);

const bar = (name: keyof typeof PHASE_COLORS, stack: string, data: number[], label: string = name): BarSeriesOption => ({
  type: 'bar', name: label, stack, data, itemStyle: { color: PHASE_COLORS[name] }, emphasis: { focus: 'series' },
});

function unitChart(summary: ProfileSummary): ReportChart {
  const units = summary.layers;
  const perStep = summary.decode.steps > 0 ? 'decode step' : 'prefill';
  const loadLabel = summary.background_load ? 'load_safe_tensor (prefetch thread)' : 'load_safe_tensor';
  return axisChart({
    id: 'units',
    title: `Phases per unit (median ms per ${perStep})`,
    height: 360,
    wide: true,
    legendRows: 2,
    rotateLabels: true,
    categories: units.map((u) => u.name),
    yAxis: { type: 'value', name: 'ms' },
    series: [
      bar('load_safe_tensor', 'load', units.map((u) => round(u.load_ms)), loadLabel),
      bar('load_safe_tensor_cpu_wait', 'compute thread', units.map((u) => round(u.cpu_wait_ms))),
      bar('create_layer', 'compute thread', units.map((u) => round(u.create_ms))),
      bar('forward_per_layer', 'compute thread', units.map((u) => round(u.forward_ms))),
      bar('kv_fill', 'compute thread', units.map((u) => round(u.kv_fill_ms))),
    ],
  });
}

function stepChart(runs: StepRecord[][]): ReportChart {
  const totals = runs.map((steps) => stepTotals(steps));
  const index = typicalRunIndex(totals);
  const steps = runs[index].map((s) => stepTotals([s]));
  const background = runs[index].map((s) => ms(s.units.reduce((a, u) => a + unitBackgroundLoadNs(u), 0)));
  const foregroundLoad = steps.map((t, i) => round(ms(t.phases.load_safe_tensor) - background[i]));
  return axisChart({
    id: 'steps',
    title: `Steps of the typical run (run ${index + 1} of ${runs.length}: wall closest to the median), ms`,
    height: 360,
    wide: true,
    legendRows: 2,
    xName: 'step (decode steps numbered)',
    categories: runs[index].map((s, i) => (s.kind === 'prefill' ? `prefill (${s.tokens} tok)` : String(i))),
    yAxis: { type: 'value', name: 'ms' },
    series: [
      bar('load_safe_tensor', 'wall', foregroundLoad, 'load_safe_tensor (compute thread)'),
      bar('load_safe_tensor_cpu_wait', 'wall', steps.map((t) => ms(t.phases.load_safe_tensor_cpu_wait))),
      bar('create_layer', 'wall', steps.map((t) => ms(t.phases.create_layer))),
      bar('forward_per_layer', 'wall', steps.map((t) => ms(t.phases.forward_per_layer))),
      bar('kv_fill', 'wall', steps.map((t) => ms(t.phases.kv_fill))),
      bar('sampling', 'wall', steps.map((t) => ms(t.sampling))),
      bar('unaccounted', 'wall', steps.map((t) => ms(t.unaccounted))),
      {
        type: 'line', name: 'load_safe_tensor (prefetch thread)', data: background, symbol: 'circle', symbolSize: 5,
        itemStyle: { color: PHASE_COLORS.load_safe_tensor }, lineStyle: { type: 'dashed' },
      },
    ],
  });
}

function runsChart(runs: StepRecord[][]): ReportChart {
  const timings = runs.map((steps) => summarizeSteps(steps, steps.length));
  return axisChart({
    id: 'runs',
    title: 'Decode tok/s and TTFT per measured run',
    categories: runs.map((_, i) => `run ${i + 1}`),
    yAxis: [{ type: 'value', name: 'tok/s' }, { type: 'value', name: 'TTFT ms', splitLine: { show: false } }],
    series: [
      {
        type: 'bar', name: 'decode tok/s', data: timings.map((t) => (t.decode_tokens_per_s === null ? null : round(t.decode_tokens_per_s, 2))),
        itemStyle: { color: PHASE_COLORS.forward_per_layer }, markLine: { data: [{ type: 'median', name: 'median' }] },
      },
      { type: 'line', name: 'TTFT ms', yAxisIndex: 1, data: timings.map((t) => round(t.ttft_ms, 1)), itemStyle: { color: PHASE_COLORS.kv_fill } },
    ],
  });
}

export function profileCharts(file: ProfileFile): ReportChart[] {
  const runs = file.runs.filter((r) => !r.warmup).map((r) => r.steps.map((s) => fromStepSample(s, file.unit_names)));
  return [unitChart(file.summary), stepChart(runs), runsChart(runs)];
}
