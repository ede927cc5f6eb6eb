// Performance against a previous validate run: per cell, the change of TTFT and decode tok/s.
// Informational: each cell is one short generation, a single sample on a possibly noisy machine.
import { UserError } from '../errors.js';
import { readJsonFile } from '../json-file.js';
import { VALIDATE_SCHEMA, ValidateFileSchema, type Cell, type PerfChange, type ValidateFile } from './schema.js';

export function readValidateFile(path: string): ValidateFile {
  const json = readJsonFile(path, 'baseline', (m) => new UserError(m, 2));
  const schema = (json as { schema?: unknown } | null)?.schema;
  if (schema !== VALIDATE_SCHEMA) {
    throw new UserError(`${path} is not a rabbit-bench validate result (schema ${JSON.stringify(schema)}, expected ${VALIDATE_SCHEMA})`, 2);
  }
  const parsed = ValidateFileSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UserError(`${path} is not a valid validate result: ${issues}`, 2);
  }
  return parsed.data;
}

const change = (now: number, before: number) => (before > 0 ? ((now - before) / before) * 100 : null);

export function perfChange(cell: Cell, before: Cell | undefined, thresholdPct: number): PerfChange | null {
  if (!cell.timings || !before?.timings) return null;
  const decodeNow = cell.timings.decode_tokens_per_s;
  const decodeBefore = before.timings.decode_tokens_per_s;
  const decodeChange = decodeNow !== null && decodeBefore !== null ? change(decodeNow, decodeBefore) : null;
  return {
    baseline_ttft_ms: before.timings.ttft_ms,
    baseline_decode_tokens_per_s: decodeBefore,
    ttft_change_pct: change(cell.timings.ttft_ms, before.timings.ttft_ms),
    decode_change_pct: decodeChange,
    slower: decodeChange !== null && decodeChange < -thresholdPct,
  };
}

/** Fills `perf` of every cell that the baseline has timings for; returns how many matched. */
export function applyBaseline(cells: Cell[], baseline: ValidateFile, thresholdPct: number): number {
  const byId = new Map(baseline.cells.map((c) => [c.id, c]));
  let matched = 0;
  for (const cell of cells) {
    cell.perf = perfChange(cell, byId.get(cell.id), thresholdPct);
    if (cell.perf) matched++;
  }
  return matched;
}
