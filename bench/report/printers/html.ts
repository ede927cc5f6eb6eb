// The HTML printer: one self-contained page (no network: ECharts, from the npm package, is inlined)
// with each report's header, charts, tables and notes. Charts render as SVG, without animation,
// so a screenshot shows them finished.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Report, ReportTable } from '../report.js';

const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\n/g, '<br>');

/** JSON inside a <script>: nothing in it may close the element or end a line in JavaScript's eyes. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

let echartsSource: string | undefined;

/** The minified ECharts build of the installed package (its "require" entry is dist/echarts.js). */
function echartsScript(): string {
  echartsSource ??= readFileSync(join(dirname(createRequire(import.meta.url).resolve('echarts')), 'echarts.min.js'), 'utf8');
  return echartsSource;
}

function tableHtml(t: ReportTable): string {
  const head = t.head.map((h) => `<th>${escape(h)}</th>`).join('');
  const rows = t.rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`).join('\n');
  return `<h3>${escape(t.title)}</h3>\n<div class="table"><table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table></div>`;
}

/** The element id of a report's chart: unique on a page of several reports. */
export const chartElementId = (reportIndex: number, chartId: string) => `chart-${reportIndex}-${chartId.replace(/[^A-Za-z0-9_-]/g, '_')}`;

function sectionHtml(r: Report, index: number): string {
  const charts = (r.charts ?? [])
    .map((c) => `<figure${c.wide ? ' class="wide"' : ''}><figcaption>${escape(c.title)}</figcaption><div class="chart" id="${chartElementId(index, c.id)}" ` +
      `data-kind="${r.kind}" style="height:${c.height ?? 320}px"></div></figure>`)
    .join('\n');
  return [
    `<section class="report" data-kind="${r.kind}">`,
    `<h2>${escape(r.title)}</h2>`,
    ...r.header.map((h) => `<p class="header">${escape(h)}</p>`),
    r.highlight ? `<p class="highlight">${escape(r.highlight)}</p>` : '',
    charts ? `<div class="charts">\n${charts}\n</div>` : '',
    ...r.tables.map(tableHtml),
    r.notes.length ? `<ul class="notes">${r.notes.map((n) => `<li>${escape(n)}</li>`).join('')}</ul>` : '',
    '</section>',
  ].filter(Boolean).join('\n');
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 24px 48px; }
section.report { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 20px 16px; margin: 16px 0; }
h2 { font-size: 20px; margin: 12px 0 8px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
p.header { margin: 2px 0; color: #444; font-family: ui-monospace, monospace; font-size: 12.5px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 12px; margin-top: 12px; }
figure { margin: 0; border: 1px solid #eee; border-radius: 4px; padding: 6px; }
figure.wide { grid-column: 1 / -1; }
figcaption { font-weight: 600; font-size: 13px; margin: 2px 4px 4px; }
.table { overflow-x: auto; }
table { border-collapse: collapse; font-family: ui-monospace, monospace; font-size: 12.5px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tbody tr:nth-child(even) { background: #fafafa; }
p.highlight { margin: 10px 0 4px; padding: 8px 12px; background: #fff8e1; border-left: 4px solid #f6bd16; font-weight: 600; }
ul.notes { font-family: ui-monospace, monospace; font-size: 12.5px; padding-left: 18px; }
footer { color: #777; font-size: 12px; }
`;

/** One page holding every report, in order. */
export function htmlPage(reports: readonly Report[], title = reports.map((r) => r.title).join(' · ')): string {
  const charts = Object.fromEntries(reports.flatMap((r, i) => (r.charts ?? []).map((c) => [chartElementId(i, c.id), c.option])));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rabbit-bench">
<title>${escape(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${reports.map(sectionHtml).join('\n')}
<footer>rabbit-bench report · charts by Apache ECharts (inlined; the page needs no network)</footer>
</main>
<script>${echartsScript()}</script>
<script>
const CHARTS = ${scriptJson(charts)};
const instances = [];
for (const [id, option] of Object.entries(CHARTS)) {
  const chart = echarts.init(document.getElementById(id), null, { renderer: 'svg' });
  chart.setOption({ animation: false, ...option });
  instances.push(chart);
}
window.addEventListener('resize', () => instances.forEach((c) => c.resize()));
</script>
</body>
</html>
`;
}

export function printHtml(r: Report): string {
  return htmlPage([r]);
}
