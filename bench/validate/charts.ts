// validate's chart: the matrix of models × prompt · device, each cell coloured by its status.
import { PALETTE } from '../report/charts.js';
import type { ReportChart } from '../report/report.js';
import { CELL_STATUSES, type CellStatus, type ValidateFile } from './schema.js';

const STATUS_COLORS: Record<CellStatus, string> = {
  pass: PALETTE[1],
  fail: PALETTE[3],
  crash: '#a8071a',
  timeout: PALETTE[6],
  error: PALETTE[4],
  skipped: '#d9d9d9',
  unavailable: '#f0f0f0',
};

export function validateCharts(file: ValidateFile): ReportChart[] {
  const columns = file.settings.prompts.flatMap((p) => file.settings.devices.map((d) => ({ p, d })));
  const models = file.models.map((m) => m.name);
  // [column, row, status index, status word]: the label prints the word.
  const data = file.cells.flatMap((c) => {
    const x = columns.findIndex(({ p, d }) => p === c.prompt && d === c.device);
    const y = models.indexOf(c.model);
    return x < 0 || y < 0 ? [] : [[x, y, CELL_STATUSES.indexOf(c.status), c.status]];
  });
  return [{
    id: 'matrix',
    title: `Cells: ${file.summary.total}, ${file.pass ? 'all pass' : 'NOT all pass'}`,
    height: 90 + 30 * models.length,
    wide: true,
    option: {
      tooltip: { trigger: 'item' },
      grid: { left: 180, right: 16, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: columns.map(({ p, d }) => `${p} · ${d}`), position: 'top', splitArea: { show: true } },
      yAxis: { type: 'category', data: models, inverse: true, splitArea: { show: true } },
      visualMap: {
        type: 'piecewise',
        dimension: 2,
        orient: 'horizontal',
        bottom: 0,
        left: 'center',
        pieces: CELL_STATUSES.map((s, i) => ({ value: i, label: s, color: STATUS_COLORS[s] })),
      },
      series: [{ type: 'heatmap', name: 'status', data, label: { show: true, formatter: '{@[3]}' }, itemStyle: { borderColor: '#fff', borderWidth: 2 } }],
    },
  }];
}
