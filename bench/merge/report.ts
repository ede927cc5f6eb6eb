// `rabbit-bench merge`'s report: the merged run's own tables (humaneval's results, validate's
// matrix) and the parts it was put together from.
import { humanevalReport } from '../humaneval/report.js';
import type { Report, ReportTable } from '../report/report.js';
import { VALIDATE_SCHEMA } from '../validate/schema.js';
import { validateReport } from '../validate/render.js';
import type { MergedHumaneval, MergedValidate, PartInfo } from './merge.js';

/** A merged result keeps its run's schema (humaneval@1 or validate@1), so it reads as that run's result; `parts` marks it merged. */
export type MergedDoc = MergedHumaneval | MergedValidate;

function partsTable(parts: PartInfo[]): ReportTable {
  return {
    title: 'Parts',
    head: ['shard', 'file', 'created', 'machine', 'commit'],
    rows: parts.map((p) => [`${p.shard.index}/${p.shard.count}`, p.file, p.created_at, p.machine_fingerprint ?? 'unknown', p.git_commit?.slice(0, 12) ?? 'unknown']),
  };
}

function isValidate(doc: MergedDoc): doc is MergedValidate {
  return doc.schema === VALIDATE_SCHEMA;
}

export function mergeReport(doc: MergedDoc): Report {
  // The merged run's own report, as its command would print it, then its parts.
  const run = isValidate(doc) ? validateReport(doc) : humanevalReport(doc);
  return {
    ...run,
    kind: 'merge',
    title: `rabbit-bench merge: ${isValidate(doc) ? 'validate' : 'humaneval'}, ${doc.parts.length} shards`,
    header: [`merged ${doc.parts.length} shards`, ...run.header],
    tables: [...run.tables, partsTable(doc.parts)],
    data: doc,
  };
}
