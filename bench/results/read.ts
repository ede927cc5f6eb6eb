// Reading result files back: JSON parse and schema validation, with messages that say where.
import type { z } from 'zod';
import { UserError } from '../errors.js';
import { readJsonFile } from '../json-file.js';
import { PROFILE_SCHEMA, ProfileFileSchema, type ProfileFile } from './profile-schema.js';

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

export function parseProfileFile(json: unknown, source: string): ProfileFile {
  const schema = (json as { schema?: unknown } | null)?.schema;
  if (typeof schema === 'string' && schema !== PROFILE_SCHEMA && schema.startsWith('rabbit-bench/profile@')) {
    throw new UserError(`${source}: result schema ${schema} is not supported by this version (reads ${PROFILE_SCHEMA})`);
  }
  const parsed = ProfileFileSchema.safeParse(json);
  if (!parsed.success) throw new UserError(`${source} is not a valid rabbit-bench profile result: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

export function readProfileFile(path: string): ProfileFile {
  return parseProfileFile(readJsonFile(path, 'result file'), path);
}
