// A diff as tables: terminal, or Markdown for a pull-request comment.
import { renderMarkdown, renderTerminal, type TableData } from '../profile/render.js';
import type { DiffResult, MetricComparison } from './diff.js';

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

export function diffTables(d: DiffResult, maxLayers = 10): TableData[] {
  const changedLayers = d.layers
    .filter((m) => m.verdict === 'slower' || m.verdict === 'faster')
    .sort((a, b) => Math.abs(b.change) - Math.abs(a.change));
  const tables: TableData[] = [{ title: `Metrics (threshold ±${(100 * d.threshold).toFixed(1)}%)`, head: HEAD, rows: d.headline.map(row) }];
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

export function renderDiffTerminal(d: DiffResult): string {
  return `${renderTerminal(diffTables(d))}\n${diffNotes(d).join('\n')}\n`;
}

export function renderDiffMarkdown(d: DiffResult, title = 'rabbit-bench diff'): string {
  return `## ${title}\n\n${renderMarkdown(diffTables(d))}\n\n${diffNotes(d).map((n) => `- ${n}`).join('\n')}\n`;
}
