// Picks the printer for --format, and writes a report's result files.
import { resolve } from 'node:path';
import { resultStem, writeNewFiles } from '../results/files.js';
import type { Report } from './report.js';
import { printCsv } from './printers/csv.js';
import { printHtml } from './printers/html.js';
import { printJson } from './printers/json.js';
import { printMarkdown } from './printers/markdown.js';
import { printTable } from './printers/table.js';

export const FORMATS = ['table', 'json', 'csv', 'md', 'html'] as const;
export type Format = (typeof FORMATS)[number];

const PRINTERS: Record<Format, (r: Report) => string> = { table: printTable, json: printJson, csv: printCsv, md: printMarkdown, html: printHtml };

export function render(r: Report, format: Format): string {
  return PRINTERS[format](r);
}

/** The result files of a report: the JSON (indented, for people too), its CSV and its Markdown; the HTML page on request. */
export type SavedFormat = 'json' | 'csv' | 'md' | 'html';

export function saveReport<F extends SavedFormat = 'json' | 'csv' | 'md'>(r: Report, outDir: string, name: string,
  formats: readonly F[] = ['json', 'csv', 'md'] as F[]): Record<F, string> {
  const contents = Object.fromEntries(formats.map((f) => [f, f === 'json' ? `${JSON.stringify(r.data, null, 1)}\n` : render(r, f)]));
  return writeNewFiles(resolve(outDir), resultStem(r.kind, name), contents) as Record<F, string>;
}
