// validate's chart: the matrix of models × prompt · device, each cell coloured by its status.
import { PALETTE, statusMatrixChart } from '../report/charts.js';
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
  const cells = file.cells
    .map((c) => ({ column: columns.findIndex(({ p, d }) => p === c.prompt && d === c.device), row: models.indexOf(c.model), status: c.status }))
    .filter((c) => c.column >= 0 && c.row >= 0);
  return [statusMatrixChart({
    id: 'matrix',
    title: `Cells: ${file.summary.total}, ${file.pass ? 'all pass' : 'NOT all pass'}`,
    height: 90 + 30 * models.length,
    columns: columns.map(({ p, d }) => `${p} · ${d}`),
    rows: models,
    statuses: CELL_STATUSES,
    colors: STATUS_COLORS,
    cells,
    labels: true,
    columnAxis: { position: 'top' },
    gridLeft: 180,
  })];
}
