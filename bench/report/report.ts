// One report per command run: every output format (table, json, csv, md, html) is drawn from it,
// so what a terminal shows, what a result file holds and what a chart plots cannot disagree.
import type { EChartsOption } from 'echarts/types/dist/option';

export interface ReportTable {
  title: string;
  head: string[];
  rows: string[][];
}

/** Raw rows for spreadsheets and pandas: numbers as measured, not as formatted for a table. */
export interface ReportCsv {
  columns: string[];
  rows: (string | number | boolean | null)[][];
}

/**
 * A chart of the HTML printer: an ECharts option, plain data (no functions: it is embedded in the
 * page as JSON). The other printers leave charts out: every chart plots numbers a table or the
 * data already holds.
 */
export interface ReportChart {
  /** Stable within a report; the page's element id derives from it. */
  id: string;
  title: string;
  option: EChartsOption;
  /** Pixels; charts with many categories ask for more. */
  height?: number;
  /** Across the page rather than beside another chart: many categories, or a matrix. */
  wide?: boolean;
}

/** The result kinds a report can be, each with its own charts in the HTML printer. */
export const REPORT_KINDS = ['profile', 'diff', 'gate', 'cpu-vs-cuda', 'validate', 'humaneval', 'vs-hf', 'vs-llama-cpp',
  'generate', 'parity', 'env', 'quantize', 'synth', 'merge'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

export interface Report {
  kind: ReportKind;
  /** The Markdown heading and the HTML page title. */
  title: string;
  /** What was measured, how and where: printed above the tables. */
  header: string[];
  tables: ReportTable[];
  /** Conclusions and warnings, printed below the tables. */
  notes: string[];
  /** The one conclusion a reader needs first (a verdict, a pass or fail): the HTML page shows it above the charts; it is among the notes too. */
  highlight?: string;
  /** Drawn by the HTML printer, above the tables. */
  charts?: ReportChart[];
  /** The typed result itself: what --format json prints and the result file holds. */
  data: unknown;
  /** What --format csv prints; without it, every table in turn. */
  csv?: ReportCsv;
}
