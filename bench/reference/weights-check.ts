// A reference only means something for the weights it was made from.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { ReferenceFile } from './reference-file.js';

/** Hashing costs about a second per GB; above this the check is skipped and says so. */
const MAX_HASHED_BYTES = 1 << 30;

export type WeightsCheck = { status: 'match' } | { status: 'skipped'; reason: string } | { status: 'mismatch'; files: string[] };

export function checkReferenceWeights(reference: ReferenceFile, files: string[]): WeightsCheck {
  const recorded = reference.model_files_sha256;
  if (!recorded) return { status: 'skipped', reason: 'the reference records no weight hashes' };
  const total = files.reduce((a, f) => a + statSync(f).size, 0);
  if (total > MAX_HASHED_BYTES) return { status: 'skipped', reason: `weights are ${(total / 2 ** 30).toFixed(1)} GiB; not hashed` };
  const mismatched = files.filter((f) => {
    const want = recorded[basename(f)];
    return want === undefined || createHash('sha256').update(readFileSync(f)).digest('hex') !== want;
  });
  return mismatched.length ? { status: 'mismatch', files: mismatched.map((f) => basename(f)) } : { status: 'match' };
}
