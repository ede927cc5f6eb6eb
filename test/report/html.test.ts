// The HTML printer without a browser: one page that needs no network, holding every chart's
// option as data, the tables and notes escaped (the browser test, html-chromium.test.ts, checks
// that the charts draw).
import { describe, expect, it } from 'vitest';
import { chartElementId, htmlPage, printHtml } from '../../bench/report/printers/html.js';
import type { Report } from '../../bench/report/report.js';

const report: Report = {
  kind: 'diff',
  title: 'rabbit-bench diff <b>',
  header: ['base a.json', 'line one\nline two'],
  tables: [{ title: 'Metrics & more', head: ['metric', 'change'], rows: [['wall_ms', '+1.0%'], ['</script><script>alert(1)</script>', 'x']] }],
  notes: ['slower: wall_ms'],
  charts: [{ id: 'changes', title: 'Change', option: { xAxis: { type: 'value' }, yAxis: { type: 'category', data: ['</script>'] }, series: [] } }],
  data: {},
};

/** The option objects the page hands to ECharts, by element id. */
function chartsOf(page: string): Record<string, unknown> {
  const m = /const CHARTS = (.*);\n/.exec(page);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]);
}

describe('html printer', () => {
  const page = printHtml(report);

  it('is one self-contained page: ECharts inlined, nothing fetched from anywhere', () => {
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).not.toMatch(/<script[^>]+src=/);
    expect(page).not.toMatch(/<link[^>]+href=/);
    expect(page).not.toMatch(/(src|href)="https?:/);
    // The inlined library, not a reference to it.
    expect(page.length).toBeGreaterThan(500_000);
    expect(page).toContain('echarts.init(');
  });

  it('hands each chart its option by element id; text that would end the script is escaped', () => {
    const charts = chartsOf(page);
    expect(Object.keys(charts)).toEqual([chartElementId(0, 'changes')]);
    expect(charts[chartElementId(0, 'changes')]).toEqual(report.charts![0].option);
    expect(page).toContain(`id="${chartElementId(0, 'changes')}"`);
    // Only the two script elements the page itself has close in the page.
    expect(page.match(/<\/script>/g)).toHaveLength(2);
  });

  it('escapes the header, tables and notes, and keeps their line breaks', () => {
    expect(page).toContain('<title>rabbit-bench diff &lt;b&gt;</title>');
    expect(page).toContain('line one<br>line two');
    expect(page).toContain('<h3>Metrics &amp; more</h3>');
    expect(page).toContain('<td>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>');
    expect(page).toContain('<li>slower: wall_ms</li>');
  });

  it('a page of several reports keeps their charts apart', () => {
    const two = htmlPage([report, { ...report, kind: 'gate', title: 'gate' }]);
    expect(Object.keys(chartsOf(two))).toEqual([chartElementId(0, 'changes'), chartElementId(1, 'changes')]);
    expect(two.match(/<section class="report"/g)).toHaveLength(2);
  });
});
