// Finding the baseline a gate compares against: a file, or the newest profile in a folder.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { ProfileFile } from '../results/profile-schema.js';
import { readProfileFile } from '../results/read.js';

/** A baseline that cannot be read is bad input (exit 2), never a regression (exit 1). */
function readBaseline(path: string): ProfileFile {
  try {
    return readProfileFile(path);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`baseline: ${err.message}`, 2);
    throw err;
  }
}

/**
 * In a folder, a file that is not a readable profile (torn by a full disk, another tool's JSON)
 * is skipped with a warning: one bad file must not make every later gate fail.
 */
export function loadBaseline(path: string, warn: (line: string) => void): { file: ProfileFile; path: string } {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new UserError(`baseline ${path} does not exist`, 2);
  if (!stat.isDirectory()) return { file: readBaseline(path), path };
  const candidates = readdirSync(path)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      try {
        return [{ path: join(path, f), file: readBaseline(join(path, f)) }];
      } catch (err) {
        warn(`rabbit-bench: WARNING: skipping ${(err as Error).message}`);
        return [];
      }
    })
    .sort((a, b) => b.file.created_at.localeCompare(a.file.created_at));
  if (candidates.length === 0) throw new UserError(`no readable profile baseline in ${path}`, 2);
  return candidates[0];
}
