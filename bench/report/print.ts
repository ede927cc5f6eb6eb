// Picks the printer for --format, and writes a report's result files.
import { resolve } from 'node:path';
import { resultStem, writeNewFiles } from '../results/files.js';
import type { Report } from './report.js';
import { printCsv } from './printers/csv.js';
import { printJson } from './printers/json.js';
import { printMarkdown } from './printers/markdown.js';
import { printTable } from './printers/table.js';

export const FORMATS = ['table', 'json', 'csv', 'md'] as const;
export type Format = (typeof FORMATS)[number];

const PRINTERS: Record<Format, (r: Report) => string> = { table: printTable, json: printJson, csv: printCsv, md: printMarkdown };

export function render(r: Report, format: Format): string {
  return PRINTERS[format](r);
}

/** The result files of a report: the JSON (indented, for people too), its CSV and its Markdown. */
export type SavedFormat = 'json' | 'csv' | 'md';

export function saveReport(r: Report, outDir: string, name: string, formats: readonly SavedFormat[] = ['json', 'csv', 'md']): Record<SavedFormat, string> {
  const contents = Object.fromEntries(formats.map((f) => [f, f === 'json' ? `${JSON.stringify(r.data, null, 1)}\n` : render(r, f)]));
  return writeNewFiles(resolve(outDir), resultStem(r.kind, name), contents) as Record<SavedFormat, string>;
}
