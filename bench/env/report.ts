// `rabbit-bench env`'s result document and its report: the machine and build facts, then what was measured.
import { z } from 'zod';
import type { Report } from '../report/report.js';
import { machineRows, measuredRows } from './format.js';
import { EnvironmentReportSchema, type EnvironmentReport } from './types.js';

export const ENV_SCHEMA = 'rabbit-bench/env@1';

/**
 * The environment report as `env` prints and a saved file holds it: tagged, since result files
 * embed the same report untagged (their own schema names what they are).
 */
export const EnvDocSchema = EnvironmentReportSchema.extend({ schema: z.literal(ENV_SCHEMA) });
export type EnvDoc = z.infer<typeof EnvDocSchema>;

export function envDoc(r: EnvironmentReport): EnvDoc {
  return { schema: ENV_SCHEMA, ...r };
}

export function envReport(doc: EnvDoc): Report {
  const tables = [{ title: 'Machine and engine build', head: ['fact', 'value'], rows: machineRows(doc) }];
  if (doc.measured) tables.push({ title: 'Measured bandwidth', head: ['measurement', 'result'], rows: measuredRows(doc.measured) });
  return {
    kind: 'env',
    title: 'rabbit-bench env',
    header: [],
    tables,
    notes: [
      ...(doc.measured ? [] : ['bandwidth not measured (--no-measure)']),
      ...doc.unavailable.map((u) => `unavailable: ${u}`),
      `collected in ${Math.round(doc.collect_ms)} ms`,
    ],
    data: doc,
  };
}
