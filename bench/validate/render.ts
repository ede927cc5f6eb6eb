// A validate run as a report: one table (model × prompt × device), then what went wrong.
import type { Report, ReportCsv, ReportTable } from '../report/report.js';
import { validateCharts } from './charts.js';
import type { Cell, CellStatus, ValidateFile } from './schema.js';
import { CELL_STATUSES } from './schema.js';

const WORD: Record<CellStatus, string> = {
  pass: 'pass',
  fail: 'FAIL',
  crash: 'CRASH',
  timeout: 'TIMEOUT',
  error: 'ERROR',
  skipped: 'skipped',
  unavailable: 'n/a',
};

const pct = (v: number | null) => (v === null ? 'n/a' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(0)}%`);

function cellText(c: Cell): string {
  const lines = [WORD[c.status]];
  if (c.timings) {
    const rate = c.timings.decode_tokens_per_s === null ? 'n/a' : c.timings.decode_tokens_per_s.toFixed(0);
    lines.push(`${c.timings.ttft_ms.toFixed(1)} ms · ${rate} tok/s`);
  }
  if (c.llama_cpp) lines.push(`llama.cpp ${c.llama_cpp.pass ? 'pass' : 'FAIL'} · top-5 ${c.llama_cpp.metrics.top5Overlap}/5`);
  if (c.perf) lines.push(`vs base: TTFT ${pct(c.perf.ttft_change_pct)} · tok/s ${pct(c.perf.decode_change_pct)}${c.perf.slower ? ' SLOWER' : ''}`);
  return lines.join('\n');
}

function cellsTable(file: ValidateFile): ReportTable {
  const columns = file.settings.prompts.flatMap((p) => file.settings.devices.map((d) => ({ p, d })));
  const promptHead = (p: string) => (p === 'short' ? `short (${file.settings.short_prompt_tokens})` : `long (${file.settings.long_prompt_tokens})`);
  const rows = file.models.map((m) => {
    const cells = columns.map(({ p, d }) => {
      const c = file.cells.find((x) => x.model === m.name && x.prompt === p && x.device === d);
      return c ? cellText(c) : '';
    });
    return [`${m.name}\n${m.reference.source === 'none' ? 'no reference' : `ref: ${m.reference.source}`}`, `${m.architecture ?? '?'}\n${m.dtype ?? ''}`, ...cells];
  });
  return { title: 'Cells (model × prompt · device)', head: ['model', 'architecture', ...columns.map(({ p, d }) => `${promptHead(p)} · ${d}`)], rows };
}

function renderProblems(file: ValidateFile): string[] {
  const lines: string[] = [];
  const bad = file.cells.filter((c) => c.status !== 'pass');
  if (bad.length) lines.push('Not passed:');
  // Cells that did not run for one shared reason (no CUDA backend, no reference) make one line.
  const groups = new Map<string, Cell[]>();
  for (const c of bad.filter((x) => x.status === 'unavailable' || x.status === 'skipped')) {
    const key = `${WORD[c.status]} — ${c.reason ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const c of bad) {
    const group = groups.get(`${WORD[c.status]} — ${c.reason ?? ''}`);
    if (group && group.length > 1) {
      if (group[0] === c) lines.push(`  ${group.length} cells ${WORD[c.status]} — ${c.reason} (${group.map((x) => x.id).join(', ')})`);
      continue;
    }
    lines.push(`  ${c.id}: ${WORD[c.status]}${c.fault ? ` [fault ${c.fault}]` : ''} — ${c.reason ?? ''}`);
    if ((c.status === 'crash' || c.status === 'error' || c.status === 'timeout') && c.process?.stderr_tail) {
      for (const l of c.process.stderr_tail.split('\n').slice(-3)) lines.push(`      | ${l}`);
    }
  }
  const notes = file.models.flatMap((m) => [
    ...m.prompts.filter((p) => p.note).map((p) => `  ${m.name}: ${p.note}`),
    // A live run that had to fall back to a golden says why.
    ...(file.settings.reference_mode === 'live' && m.reference.source === 'golden' ? [`  ${m.name}: ${m.reference.note}; used the golden`] : []),
    ...(m.llama_cpp?.note ? [`  ${m.name}: no llama.cpp comparison: ${m.llama_cpp.note}`] : []),
  ]);
  if (notes.length) lines.push('Notes:', ...notes);
  return lines;
}

function summaryLine(file: ValidateFile): string {
  const s = file.summary;
  const counts = CELL_STATUSES.filter((k) => k === 'pass' || s[k] > 0).map((k) => `${s[k]} ${k}`);
  return `validate ${file.pass ? 'PASS' : 'FAIL'}: ${s.total} cells · ${counts.join(' · ')}`;
}

function referenceLine(file: ValidateFile): string {
  const live = file.models.filter((m) => m.reference.source === 'live').length;
  const golden = file.models.filter((m) => m.reference.source === 'golden').length;
  const none = file.models.filter((m) => m.reference.source === 'none').length;
  const why = file.settings.reference_mode === 'golden' ? [...new Set(file.models.map((m) => m.reference.note).filter(Boolean))][0] : null;
  const parts = [live && `${live} live (${file.settings.python})`, golden && `${golden} golden (test/golden/validate)`, none && `${none} none`].filter(Boolean);
  const llamaCpp = [...new Set(file.models.map((m) => m.llama_cpp?.build).filter(Boolean))];
  return `references: ${parts.join(', ')}${why ? ` — ${why}` : ''}${llamaCpp.length ? `; and ${llamaCpp.join(', ')}` : ''}`;
}

function perfLines(file: ValidateFile): string[] {
  const lines = ['TTFT and decode tok/s are single samples of one short generation each: informational, not a benchmark.'];
  if (file.baseline) {
    const machine = file.baseline.same_machine === false ? ' (ANOTHER machine: compare with care)' : '';
    lines.push(`vs baseline ${file.baseline.file}${machine}: ${file.baseline.matched_cells} cells compared, ` +
      `${file.summary.perf_warnings} with decode more than ${file.settings.perf_threshold_pct}% slower` +
      `${file.settings.fail_on_perf ? ' (--fail-on-perf)' : ''}`);
    for (const c of file.cells.filter((x) => x.perf?.slower)) {
      lines.push(`  SLOWER ${c.id}: decode ${c.perf!.baseline_decode_tokens_per_s?.toFixed(0)} → ${c.timings!.decode_tokens_per_s?.toFixed(0)} tok/s (${pct(c.perf!.decode_change_pct)})`);
    }
  }
  return lines;
}

const CSV_COLUMNS = ['id', 'model', 'prompt', 'device', 'status', 'reason', 'prompt_tokens', 'cosine', 'max_abs_diff', 'top1_match', 'top5_overlap',
  'greedy_prefix', 'greedy_length', 'ttft_ms', 'decode_tokens_per_s', 'ttft_change_pct', 'decode_change_pct', 'slower', 'llama_cpp_pass'];

/** One row per cell, figures as measured: for spreadsheets. */
function cellsCsv(file: ValidateFile): ReportCsv {
  return {
    columns: CSV_COLUMNS,
    rows: file.cells.map((c) => [c.id, c.model, c.prompt, c.device, c.status, c.reason, c.prompt_tokens, c.metrics?.cosine ?? null, c.metrics?.maxAbsDiff ?? null,
      c.metrics?.top1Match ?? null, c.metrics?.top5Overlap ?? null, c.metrics?.greedyPrefix ?? null, c.metrics?.greedyLength ?? null,
      c.timings?.ttft_ms ?? null, c.timings?.decode_tokens_per_s ?? null, c.perf?.ttft_change_pct ?? null, c.perf?.decode_change_pct ?? null,
      c.perf?.slower ?? null, c.llama_cpp?.pass ?? null]),
  };
}

/** The whole report, from the result document alone. */
export function validateReport(file: ValidateFile): Report {
  return {
    kind: 'validate',
    title: 'rabbit-bench validate',
    header: [referenceLine(file)],
    tables: [cellsTable(file)],
    charts: validateCharts(file),
    notes: [...renderProblems(file), ...perfLines(file), summaryLine(file)],
    highlight: summaryLine(file),
    data: file,
    csv: cellsCsv(file),
  };
}
