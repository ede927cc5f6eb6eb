// Chart shapes several result kinds share, as ECharts options for the HTML printer: bars over
// categories, and measured rates against their rooflines.
import type { EChartsOption, SeriesOption, YAXisComponentOption } from 'echarts/types/dist/option';
import type { ReportChart } from './report.js';

/** Colours that stay apart on white and in grey print; runners and statuses take them in order. */
export const PALETTE = ['#5b8ff9', '#5ad8a6', '#f6bd16', '#e8684a', '#9270ca', '#6dc8ec', '#ff9d4d', '#269a99', '#bbbbbb'];

export const round = (x: number, digits = 3) => Number(x.toFixed(digits));

export interface AxisChart {
  id: string;
  title: string;
  categories: string[];
  series: SeriesOption[];
  yAxis: YAXisComponentOption | YAXisComponentOption[];
  /** Rows the legend takes above the plot. */
  legendRows?: number;
  /** Long category names are turned. */
  rotateLabels?: boolean;
  height?: number;
  xName?: string;
  /** Across the page rather than beside another chart. */
  wide?: boolean;
  /** The legend's entries in order; default: the series'. */
  legend?: string[];
}

/** Series over named categories on the x axis, with the legend on top and a tooltip per category. */
export function axisChart(c: AxisChart): ReportChart {
  const legendRows = c.legendRows ?? 1;
  const option: EChartsOption = {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0, data: c.legend },
    grid: { left: 64, right: 56, top: 24 + 24 * legendRows, bottom: c.rotateLabels ? 96 : 48 },
    xAxis: {
      type: 'category', data: c.categories, name: c.xName, nameLocation: 'middle', nameGap: 28,
      axisLabel: { fontSize: 10, interval: 0, ...(c.rotateLabels ? { rotate: 50 } : {}) },
    },
    yAxis: c.yAxis,
    series: c.series,
  };
  return { id: c.id, title: c.title, height: c.height, wide: c.wide, option };
}

export interface StatusMatrix<S extends string> {
  id: string;
  title: string;
  height: number;
  columns: string[];
  rows: string[];
  /** Every status, in the legend's order, and its colour. */
  statuses: readonly S[];
  colors: Readonly<Record<S, string>>;
  cells: { column: number; row: number; status: S }[];
  /** Print the status in each cell (few, wide cells); else the tooltip alone names it. */
  labels: boolean;
  /** Options for the column axis (its name, where it sits, its label size). */
  columnAxis?: { name?: string; position?: 'top' | 'bottom'; fontSize?: number };
  gridLeft?: number;
}

/** A grid of cells, each coloured by its status, with the statuses as the legend. */
export function statusMatrixChart<S extends string>(m: StatusMatrix<S>): ReportChart {
  // [column, row, status index, status]: the colour goes by the index, the label prints the status.
  const data = m.cells.map((c) => [c.column, c.row, m.statuses.indexOf(c.status), c.status]);
  const axis = m.columnAxis ?? {};
  return {
    id: m.id,
    title: m.title,
    height: m.height,
    wide: true,
    option: {
      tooltip: { trigger: 'item', formatter: '{b}: {@[3]}' },
      grid: { left: m.gridLeft ?? 64, right: 16, top: axis.position === 'top' ? 40 : 16, bottom: axis.position === 'top' ? 40 : 72 },
      xAxis: {
        type: 'category', data: m.columns, position: axis.position ?? 'bottom', name: axis.name, nameLocation: 'middle', nameGap: 26,
        axisLabel: { fontSize: axis.fontSize ?? 12 }, splitArea: { show: true },
      },
      yAxis: { type: 'category', data: m.rows, inverse: true, splitArea: { show: true } },
      visualMap: {
        type: 'piecewise', dimension: 2, orient: 'horizontal', bottom: 0, left: 'center',
        pieces: m.statuses.map((s, i) => ({ value: i, label: s, color: m.colors[s] })),
      },
      series: [{
        type: 'heatmap', name: 'status', data, label: { show: m.labels, formatter: '{@[3]}' },
        itemStyle: { borderColor: '#fff', borderWidth: m.labels ? 2 : 1 },
      }],
    },
  };
}

export interface RooflineCategory {
  /** The model (and type) the runners ran. */
  label: string;
  /** Each runner's rate; absent or null where it has none. */
  values: Partial<Record<string, number | null>>;
  /** What memory bandwidth allows each runner at most (its bytes per token, its bandwidth). */
  rooflines: Partial<Record<string, number | null>>;
}

/** Result rows of runner × model, gathered by model label. */
export function rooflineCategories<R extends { runner: string }>(rows: readonly R[], label: (r: R) => string, value: (r: R) => number | null,
  roofline: (r: R) => number | null = () => null): RooflineCategory[] {
  return [...new Set(rows.map(label))].map((l) => {
    const mine = rows.filter((r) => label(r) === l);
    return { label: l, values: Object.fromEntries(mine.map((r) => [r.runner, value(r)])), rooflines: Object.fromEntries(mine.map((r) => [r.runner, roofline(r)])) };
  });
}

/**
 * Runners side by side per model, each bar with its own roofline drawn as a flat marker at the
 * bar's width, on a log axis (runners differ by orders of magnitude). Bars and markers have one
 * width in pixels, so the markers stay over their bars whatever the page's width.
 */
export function rooflineChart(id: string, title: string, unit: string, runners: readonly string[], categories: readonly RooflineCategory[]): ReportChart {
  const barWidth = Math.max(6, Math.min(28, Math.floor(720 / (categories.length * runners.length))));
  const offset = (i: number) => (i - (runners.length - 1) / 2) * barWidth;
  const value = (v: number | null | undefined) => (v === null || v === undefined ? null : round(v, 2));
  const series: SeriesOption[] = runners.flatMap((runner, i): SeriesOption[] => {
    const bars: SeriesOption = {
      type: 'bar', name: runner, barWidth, barGap: '0%', itemStyle: { color: PALETTE[i % PALETTE.length] },
      data: categories.map((c) => value(c.values[runner])),
    };
    if (!categories.some((c) => value(c.rooflines[runner]) !== null)) return [bars];
    return [bars, {
      type: 'scatter', name: 'roofline', symbol: 'rect', symbolSize: [barWidth, 3], symbolOffset: [offset(i), 0], itemStyle: { color: '#333' },
      data: categories.map((c) => value(c.rooflines[runner])),
    }];
  });
  return axisChart({
    id, title, categories: categories.map((c) => c.label), series, height: 400, wide: true, legendRows: 1,
    legend: series.some((x) => x.name === 'roofline') ? [...runners, 'roofline'] : [...runners],
    yAxis: { type: 'log', name: unit, minorSplitLine: { show: true } },
  });
}
