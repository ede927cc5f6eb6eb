// Finding the baseline a gate compares against: a file, or the newest profile in a folder.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { ProfileFile } from '../results/profile-schema.js';
import { readProfileFile } from '../results/read.js';

export function loadBaseline(path: string): { file: ProfileFile; path: string } {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new UserError(`baseline ${path} does not exist`, 2);
  if (stat.isFile()) return { file: readProfileFile(path), path };
  const candidates = readdirSync(path)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ path: join(path, f), file: readProfileFile(join(path, f)) }))
    .sort((a, b) => b.file.created_at.localeCompare(a.file.created_at));
  if (candidates.length === 0) throw new UserError(`no profile baseline in ${path}`, 2);
  return candidates[0];
}
