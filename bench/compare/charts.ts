// The comparison's charts: each metric's change with its interval against the threshold, and for
// the gate, how its deciding metrics moved as the adaptive loop measured more runs.
import type { BoxplotSeriesOption, EChartsOption } from 'echarts/types/dist/option';
import { axisChart } from '../report/charts.js';
import type { ReportChart } from '../report/report.js';
import type { DiffResult, GateDecision, MetricComparison } from './schema.js';

const VERDICT_COLORS: Record<MetricComparison['verdict'], string> = {
  slower: '#e8684a',
  faster: '#5ad8a6',
  'no change': '#9aa4b2',
  inconclusive: '#f6bd16',
};

const pct = (x: number) => Number((100 * x).toFixed(2));

/**
 * One box per metric spanning its interval, the line inside it at the change; the band between
 * -threshold and +threshold is where a change does not matter.
 */
export function changeChart(d: DiffResult, id = 'changes'): ReportChart | null {
  const metrics = d.headline.filter((m) => Number.isFinite(m.change) && Number.isFinite(m.ci.lo) && Number.isFinite(m.ci.hi));
  if (metrics.length === 0) return null;
  const t = pct(d.threshold);
  const data: BoxplotSeriesOption['data'] = metrics.map((m) => {
    const lo = pct(m.ci.lo - 1);
    const hi = pct(m.ci.hi - 1);
    return { value: [lo, lo, pct(m.change), hi, hi], itemStyle: { color: `${VERDICT_COLORS[m.verdict]}66`, borderColor: VERDICT_COLORS[m.verdict] } };
  });
  const option: EChartsOption = {
    tooltip: { trigger: 'item' },
    grid: { left: 200, right: 32, top: 28, bottom: 48 },
    yAxis: { type: 'category', data: metrics.map((m) => `${m.label}${m.better === 'higher' ? ' (higher is better)' : ''} · ${m.verdict}`), inverse: true },
    xAxis: { type: 'value', name: `change, % (${Math.round(100 * d.confidence)}% interval)`, nameLocation: 'middle', nameGap: 28 },
    series: [{
      type: 'boxplot',
      name: 'change',
      data,
      markArea: {
        silent: true, itemStyle: { color: 'rgba(150,150,150,0.12)' }, label: { position: 'insideTop', color: '#666' },
        data: [[{ xAxis: -t, name: `±${t}%` }, { xAxis: t }]],
      },
      markLine: { silent: true, symbol: 'none', lineStyle: { type: 'dashed', color: '#888' }, label: { show: false }, data: [{ xAxis: -t }, { xAxis: t }] },
    }],
  };
  return { id, title: `Change of each metric, current vs base (threshold ±${t}%)`, height: 60 + 34 * metrics.length, option };
}

/** The change of each deciding metric at every decision of the gate's adaptive loop. */
export function decisionsChart(decisions: readonly GateDecision[], threshold: number): ReportChart | null {
  if (decisions.length === 0) return null;
  const ids = [...new Set(decisions.flatMap((d) => d.verdicts.map((v) => v.id)))];
  const t = pct(threshold);
  return axisChart({
    id: 'decisions',
    title: 'The gate\'s decisions: change of each deciding metric as runs were added',
    xName: 'runs',
    categories: decisions.map((d) => String(d.runs)),
    yAxis: { type: 'value', name: 'change, %' },
    series: ids.map((id, i) => ({
      type: 'line' as const,
      name: id,
      data: decisions.map((d) => {
        const v = d.verdicts.find((x) => x.id === id);
        return v && Number.isFinite(v.change) ? pct(v.change) : null;
      }),
      ...(i === 0 ? {
        markLine: { silent: true, symbol: 'none', lineStyle: { type: 'dashed' as const, color: '#888' }, data: [{ yAxis: t }, { yAxis: -t }] },
      } : {}),
    })),
  });
}
