// A diff as a report: its tables and notes.
import type { Report, ReportTable } from '../report/report.js';
import { changeChart, decisionsChart } from './charts.js';
import type { DiffResult, GateResult, MetricComparison } from './schema.js';

const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%` : 'n/a');

function value(x: number, unit: MetricComparison['unit']): string {
  return `${x.toFixed(unit === 'tok/s' ? 2 : 1)} ${unit}`;
}

function verdictCell(m: MetricComparison): string {
  return m.verdict === 'slower' || m.verdict === 'faster' ? m.verdict.toUpperCase() : m.verdict;
}

function row(m: MetricComparison): string[] {
  return [m.label, value(m.base, m.unit), value(m.current, m.unit), pct(m.change), `${pct(m.ci.lo - 1)} .. ${pct(m.ci.hi - 1)}`,
    `${m.samples.base} / ${m.samples.current}`, verdictCell(m)];
}

const HEAD = ['metric', 'base', 'current', 'change', '99% CI of change', 'runs', 'verdict'];

export function diffTables(d: DiffResult, maxLayers = 10): ReportTable[] {
  const changedLayers = d.layers
    .filter((m) => m.verdict === 'slower' || m.verdict === 'faster')
    .sort((a, b) => Math.abs(b.change) - Math.abs(a.change));
  const tables: ReportTable[] = [{ title: `Metrics (threshold ±${(100 * d.threshold).toFixed(1)}%)`, head: HEAD, rows: d.headline.map(row) }];
  if (d.layers.length > 0) {
    tables.push({
      title: `Per-unit phases that changed (${changedLayers.length} of ${d.layers.length}${changedLayers.length > maxLayers ? `, largest ${maxLayers}` : ''})`,
      head: HEAD,
      rows: changedLayers.slice(0, maxLayers).map(row),
    });
  }
  return tables;
}

export function diffNotes(d: DiffResult): string[] {
  const notes = [`outputs: ${d.outputs.note}`];
  if (d.paired) notes.push('base and current were measured alternately, run for run; each interval is of the median ratio within pairs');
  if (d.settingDifferences.length > 0) {
    notes.push(`WARNING: the files were measured differently (${d.settingDifferences.join(', ')}): timings answer different questions`);
  }
  if (!d.sameMachine) {
    notes.push(`WARNING: the files come from different machines (${d.baseFingerprint ?? 'unknown'} vs ${d.currentFingerprint ?? 'unknown'}): timings are not comparable`);
  }
  const regressions = d.headline.filter((m) => m.verdict === 'slower').map((m) => m.label);
  const inconclusive = d.headline.filter((m) => m.verdict === 'inconclusive').map((m) => m.label);
  if (regressions.length) notes.push(`slower: ${regressions.join(', ')}`);
  if (inconclusive.length) notes.push(`inconclusive (more runs needed): ${inconclusive.join(', ')}`);
  return notes;
}

const present = <T>(xs: (T | null)[]) => xs.filter((x): x is T => x !== null);

/** What was compared with what: model, date and commit of each side. */
export function diffHeader(d: DiffResult): string[] {
  const side = (name: string, s: DiffResult['base']) =>
    `${name}: ${s.model} · ${s.created_at} · ${s.git_commit ? `commit ${s.git_commit.slice(0, 12)}` : 'no commit recorded'} · ${s.measured_runs} runs`;
  return [side('base', d.base), side('current', d.current)];
}

export function diffReport(d: DiffResult): Report {
  return { kind: 'diff', title: 'rabbit-bench diff', header: diffHeader(d), tables: diffTables(d), notes: diffNotes(d), charts: present([changeChart(d)]), data: d };
}

export function gateReport(g: GateResult): Report {
  return {
    kind: 'gate',
    title: `rabbit-bench gate: ${g.status}`,
    header: g.diff ? diffHeader(g.diff) : [],
    tables: g.diff ? diffTables(g.diff) : [],
    charts: present([g.diff ? changeChart(g.diff) : null, g.diff ? decisionsChart(g.decisions, g.diff.threshold) : null]),
    notes: [...(g.diff ? diffNotes(g.diff) : []), `gate: ${g.status}`, ...g.failures.map((f) => `  ${f}`)],
    highlight: [`gate: ${g.status}`, ...g.failures].join(' · '),
    data: g,
  };
}
