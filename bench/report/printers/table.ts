// The terminal printer: header lines, boxed tables (cli-table3), notes.
import Table from 'cli-table3';
import type { Report, ReportTable } from '../report.js';

export function terminalTables(tables: ReportTable[]): string {
  return tables
    .map((t) => {
      const table = new Table({ head: t.head, style: { head: [], border: [] } });
      table.push(...t.rows);
      return `${t.title}\n${table.toString()}`;
    })
    .join('\n\n');
}

export function printTable(r: Report): string {
  const blocks = [r.header.join('\n'), terminalTables(r.tables), r.notes.join('\n')].filter((b) => b.length > 0);
  return `${blocks.join('\n\n')}\n`;
}
