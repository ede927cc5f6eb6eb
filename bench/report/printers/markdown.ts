// The Markdown printer: for result files, pull-request comments and job summaries.
import type { Report, ReportTable } from '../report.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, '<br>');

export function markdownTables(tables: ReportTable[]): string {
  return tables
    .map((t) => {
      const lines = [`### ${t.title}`, '', `| ${t.head.map(cell).join(' | ')} |`, `| ${t.head.map(() => '---').join(' | ')} |`];
      for (const r of t.rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
      return lines.join('\n');
    })
    .join('\n\n');
}

export function printMarkdown(r: Report): string {
  // Two trailing spaces: a Markdown line break, so header and note lines stay one per line.
  const blocks = [`## ${r.title}`, r.header.join('  \n'), markdownTables(r.tables), r.notes.join('  \n')].filter((b) => b.length > 0);
  return `${blocks.join('\n\n')}\n`;
}
