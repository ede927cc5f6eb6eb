// `rabbit-bench merge`: the parts of a sharded humaneval or validate run (--shard K/N), put back
// together as the result the unsharded run gives: every record or cell in the unsharded order,
// and the summary (pass@k, the matrix's counts) computed again from them. Parts must be one run's:
// the same kind, the same settings but for the shard, every shard exactly once.
import { z } from 'zod';
import { UserError } from '../errors.js';
import { HUMANEVAL_SCHEMA, HumanevalResultSchema } from '../humaneval/schema.js';
import { summarize } from '../humaneval/score.js';
import { readJsonFile } from '../json-file.js';
import type { Shard } from '../shard.js';
import { VALIDATE_SCHEMA, ValidateFileSchema, type Cell } from '../validate/schema.js';

export const PartInfoSchema = z.object({
  file: z.string(),
  shard: z.object({ index: z.number().int().positive(), count: z.number().int().positive() }),
  created_at: z.string(),
  machine_fingerprint: z.string().nullable(),
  git_commit: z.string().nullable(),
});
export type PartInfo = z.infer<typeof PartInfoSchema>;

/** A merged result keeps its run's schema, so it reads as that run's result; `parts` marks it merged. */
export const MergedHumanevalSchema = HumanevalResultSchema.extend({ records_file: z.null(), parts: z.array(PartInfoSchema).min(1) });
export const MergedValidateSchema = ValidateFileSchema.extend({ parts: z.array(PartInfoSchema).min(1) });
export type MergedHumaneval = z.infer<typeof MergedHumanevalSchema>;
export type MergedValidate = z.infer<typeof MergedValidateSchema>;
export type Merged = { kind: 'humaneval'; result: MergedHumaneval } | { kind: 'validate'; result: MergedValidate };

interface Part<T> {
  file: string;
  doc: T;
  shard: Shard;
  settings: Record<string, unknown>;
}

function kindOf(file: string, doc: unknown): 'humaneval' | 'validate' {
  const schema = (doc as { schema?: unknown } | null)?.schema;
  if (schema === HUMANEVAL_SCHEMA) return 'humaneval';
  if (schema === VALIDATE_SCHEMA) return 'validate';
  throw new UserError(`${file}: not a humaneval or validate result (schema ${JSON.stringify(schema ?? null)})`, 2);
}

function parse<T>(file: string, doc: unknown, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${file}: not a valid result: ${issue.path.join('.') || '(top)'}: ${issue.message}`, 2);
  }
  return parsed.data;
}

/** Checks that the parts are one run's N shards, each once, with the same settings; returns them in shard order. */
function checkParts<T>(parts: Part<T>[]): Part<T>[] {
  const count = parts[0].shard.count;
  const byIndex = new Map<number, Part<T>>();
  for (const p of parts) {
    if (p.shard.count !== count) throw new UserError(`${p.file} is shard ${p.shard.index}/${p.shard.count}, but ${parts[0].file} is of ${count} shards`, 2);
    const other = byIndex.get(p.shard.index);
    if (other) throw new UserError(`shard ${p.shard.index}/${count} is given twice: ${other.file} and ${p.file}`, 2);
    byIndex.set(p.shard.index, p);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length) throw new UserError(`shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')} missing: a merged result must hold every part`, 2);
  const first = parts[0];
  for (const p of parts) {
    for (const key of new Set([...Object.keys(first.settings), ...Object.keys(p.settings)])) {
      const a = JSON.stringify(first.settings[key] ?? null);
      const b = JSON.stringify(p.settings[key] ?? null);
      if (a !== b) throw new UserError(`${p.file} and ${first.file} are not parts of one run: settings.${key} differs (${b.slice(0, 120)} vs ${a.slice(0, 120)})`, 2);
    }
  }
  return [...byIndex.values()].sort((x, y) => x.shard.index - y.shard.index);
}

/** Shard K held positions K-1, K-1+N, ... of the run's order: its j-th item goes back to (K-1) + jN. */
function interleave<T, I>(parts: Part<T>[], items: (doc: T) => I[]): I[] {
  const count = parts[0].shard.count;
  const placed: { at: number; item: I }[] = [];
  for (const p of parts) items(p.doc).forEach((item, j) => placed.push({ at: p.shard.index - 1 + j * count, item }));
  return placed.sort((a, b) => a.at - b.at).map((x) => x.item);
}

function shardOf(file: string, settings: Record<string, unknown>): Shard {
  const s = settings.shard as Shard | null | undefined;
  if (!s) throw new UserError(`${file} is not a sharded run (no settings.shard): run with --shard K/N to split work`, 2);
  return s;
}

function without<T extends Record<string, unknown>>(o: T, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = o;
  return rest;
}

function partInfo(file: string, shard: Shard, created: string, env: unknown, commit: unknown): PartInfo {
  const fingerprint = (env as { machine_fingerprint?: unknown } | null)?.machine_fingerprint;
  return { file, shard, created_at: created, machine_fingerprint: typeof fingerprint === 'string' ? fingerprint : null, git_commit: typeof commit === 'string' ? commit : null };
}

function mergeHumaneval(entries: { file: string; doc: unknown }[]): MergedHumaneval {
  const parts = checkParts(entries.map(({ file, doc }) => {
    const d = parse(file, doc, HumanevalResultSchema);
    return { file, doc: d, shard: shardOf(file, d.settings), settings: without(d.settings, 'shard') };
  }));
  const records = interleave(parts, (d) => d.records);
  const seen = new Set<string>();
  for (const r of records) {
    const key = `${r.task_id}#${r.sample}`;
    if (seen.has(key)) throw new UserError(`sample ${r.task_id} #${r.sample} is in more than one part`, 2);
    seen.add(key);
  }
  const first = parts[0].doc;
  const wallMs = parts.reduce((a, p) => a + p.doc.summary.wall_s * 1000, 0);
  const { records_file: _file, ...rest } = first;
  return {
    ...rest,
    created_at: new Date().toISOString(),
    settings: { ...first.settings, shard: null },
    records_file: null,
    summary: summarize(records, { plus: Boolean(first.settings.plus), wallMs }),
    records,
    parts: parts.map((p) => partInfo(p.file, p.shard, p.doc.created_at, p.doc.environment, (p.doc.metadata as { git_commit?: unknown } | undefined)?.git_commit)),
  };
}

function mergeValidate(entries: { file: string; doc: unknown }[]): MergedValidate {
  const parts = checkParts(entries.map(({ file, doc }) => {
    const d = parse(file, doc, ValidateFileSchema);
    return { file, doc: d, shard: shardOf(file, d.settings), settings: without(d.settings, 'shard') };
  }));
  const cells = interleave(parts, (d) => d.cells);
  const models = [...new Map(parts.flatMap((p) => p.doc.models).map((m) => [m.name, m])).values()];
  const order = new Map(cells.map((c, i) => [c.model, i]));
  models.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  const first = parts[0].doc;
  const count = (s: Cell['status']) => cells.filter((c) => c.status === s).length;
  const perfWarnings = cells.filter((c) => c.perf?.slower).length;
  const cellsOk = cells.every((c) => c.status === 'pass' || (first.settings.allow_skips && c.status === 'skipped'));
  const baselines = parts.map((p) => p.doc.baseline);
  const baseline = baselines.every((b) => b && b.file === baselines[0]!.file)
    ? {
        file: baselines[0]!.file,
        same_machine: baselines.some((b) => b!.same_machine === false) ? false : baselines.every((b) => b!.same_machine === true) ? true : null,
        matched_cells: baselines.reduce((a, b) => a + b!.matched_cells, 0),
      }
    : null;
  return {
    ...first,
    settings: { ...first.settings, shard: null },
    models,
    cells,
    baseline,
    summary: {
      total: cells.length, pass: count('pass'), fail: count('fail'), crash: count('crash'), timeout: count('timeout'),
      error: count('error'), skipped: count('skipped'), unavailable: count('unavailable'), perf_warnings: perfWarnings,
    },
    pass: cellsOk && !(first.settings.fail_on_perf && perfWarnings > 0),
    parts: parts.map((p) => partInfo(p.file, p.shard, p.doc.run.started_at, p.doc.environment, p.doc.run.git_commit)),
  };
}

export function mergeResults(files: string[]): Merged {
  if (files.length === 0) throw new UserError('merge: name the result files of every shard', 2);
  const entries = files.map((file) => ({ file, doc: readJsonFile(file, 'result file', (m) => new UserError(m, 2)) }));
  const kinds = new Set(entries.map((e) => kindOf(e.file, e.doc)));
  if (kinds.size > 1) throw new UserError('merge: the files mix humaneval and validate results', 2);
  return kinds.has('humaneval') ? { kind: 'humaneval', result: mergeHumaneval(entries) } : { kind: 'validate', result: mergeValidate(entries) };
}
