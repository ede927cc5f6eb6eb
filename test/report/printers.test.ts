// Every format is drawn from the one report: the same cells reach the terminal, Markdown and
// CSV, and JSON is the typed result alone.
import { describe, expect, it } from 'vitest';
import { render } from '../../bench/report/print.js';
import type { Report } from '../../bench/report/report.js';

const report: Report = {
  kind: 'diff',
  title: 'rabbit-bench diff',
  header: ['base a.json', 'current b.json'],
  tables: [
    { title: 'Metrics', head: ['metric', 'change'], rows: [['wall_ms', '+1.0%'], ['a | b', 'x']] },
    { title: 'Units', head: ['unit', 'ms'], rows: [['layers.0', '2.5']] },
  ],
  notes: ['slower: wall_ms'],
  data: { answer: 42 },
};

describe('report printers', () => {
  it('table: header, every table with its title and cells, then the notes, in that order', () => {
    const out = render(report, 'table');
    const at = (s: string) => out.indexOf(s);
    for (const s of ['base a.json', 'Metrics', 'wall_ms', '+1.0%', 'Units', 'layers.0', 'slower: wall_ms']) expect(out).toContain(s);
    expect(at('current b.json')).toBeLessThan(at('Metrics'));
    expect(at('Metrics')).toBeLessThan(at('Units'));
    expect(at('layers.0')).toBeLessThan(at('slower: wall_ms'));
  });

  it('md: a heading, GitHub tables with | escaped, line breaks between header lines', () => {
    const out = render(report, 'md');
    expect(out.startsWith('## rabbit-bench diff\n')).toBe(true);
    expect(out).toContain('base a.json  \ncurrent b.json');
    expect(out).toContain('### Metrics\n\n| metric | change |\n| --- | --- |\n| wall_ms | +1.0% |\n| a \\| b | x |');
  });

  it('json: exactly the data, one document', () => {
    const out = render(report, 'json');
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(out)).toEqual({ answer: 42 });
  });

  it('csv: each table under its title; raw rows when the report has them', () => {
    expect(render(report, 'csv')).toBe('Metrics\nmetric,change\nwall_ms,+1.0%\na | b,x\n\nUnits\nunit,ms\nlayers.0,2.5\n');
    const raw = render({ ...report, csv: { columns: ['unit', 'ns'], rows: [['layers.0', 2500], ['lm_head', null]] } }, 'csv');
    expect(raw).toBe('unit,ns\nlayers.0,2500\nlm_head,\n');
  });
});
