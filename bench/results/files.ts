// Where result files go and what they are called: results/<date>-<command>-<model>.{json,csv,md}.
// A result file appears whole or not at all (written to a temporary name, synced, then linked
// into place), and never replaces another: two runs in the same second get -2, -3, ... suffixes.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';

export function resultStem(command: string, model: string, date = new Date()): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const safeModel = model.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'model';
  return `${stamp}-${command}-${safeModel}`;
}

export interface WrittenFiles {
  json: string;
  csv: string;
  md: string;
}

const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** Creates the output folder, or says why it cannot be one. */
export function prepareOutDir(outDir: string): void {
  const stat = statSync(outDir, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) throw new UserError(`--out ${outDir} is not a folder`, 2);
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (err) {
    throw new UserError(`--out ${outDir}: cannot create the folder (${errorCode(err)})`, 2);
  }
}

function writeTemporary(dir: string, content: string): string {
  const temp = join(dir, `.rabbit-bench-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx');
  try {
    const bytes = Buffer.from(content);
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(temp);
    throw err;
  }
  closeSync(fd);
  return temp;
}

/**
 * Writes files named `<stem><suffix><ext>` for each extension, all with one suffix, none
 * overwriting an existing file: a hard link fails where a name is taken, where a rename would
 * replace it.
 */
export function writeNewFiles<E extends string>(outDir: string, stem: string, contents: Record<E, string>): Record<E, string> {
  prepareOutDir(outDir);
  const exts = Object.keys(contents) as E[];
  const temps = new Map<E, string>();
  try {
    for (const ext of exts) temps.set(ext, writeTemporary(outDir, contents[ext]));
    for (let n = 1; n < 10_000; n++) {
      const names = Object.fromEntries(exts.map((ext) => [ext, join(outDir, `${stem}${n === 1 ? '' : `-${n}`}.${ext}`)])) as Record<E, string>;
      const linked: string[] = [];
      try {
        for (const ext of exts) {
          linkSync(temps.get(ext)!, names[ext]);
          linked.push(names[ext]);
        }
      } catch (err) {
        linked.forEach((f) => unlinkSync(f));
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      syncFolder(outDir);
      return names;
    }
    throw new Error(`${outDir} already holds 9999 results named ${stem}`);
  } catch (err) {
    throw new UserError(`cannot write the result to ${outDir}: ${errorCode(err)}${errorCode(err) === 'ENOSPC' ? ' (the disk is full)' : ''}; no result file was written`, 2);
  } finally {
    for (const temp of temps.values()) unlinkSync(temp);
  }
}

/** The new names survive a crash only once the folder itself is synced. */
function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeResultFiles(outDir: string, stem: string, content: { json: unknown; csv: string; md: string }): WrittenFiles {
  return writeNewFiles(outDir, stem, { json: `${JSON.stringify(content.json, null, 1)}\n`, csv: content.csv, md: content.md });
}
