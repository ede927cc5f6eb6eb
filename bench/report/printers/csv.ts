// The CSV printer: the report's raw rows, or else each table under a line naming it.
import { stringify } from 'csv-stringify/sync';
import type { Report } from '../report.js';

export function printCsv(r: Report): string {
  if (r.csv) return stringify(r.csv.rows, { header: true, columns: r.csv.columns });
  return r.tables.map((t) => stringify([[t.title], t.head, ...t.rows])).join('\n');
}
