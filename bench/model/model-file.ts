// Opening a model file whose header is parsed: a regular file only, and every error names it.
import fs from 'node:fs';
import path from 'node:path';
import { ModelError } from '../errors.js';

export type Fail = (message: string) => never;

/** Calls `read` with the open file, its size and a `fail` that prefixes the path; closes it after. */
export function withModelFile<T>(file: string, read: (fd: number, size: number, fail: Fail, abs: string) => T): T {
  const abs = path.resolve(file);
  const fail: Fail = (message) => {
    throw new ModelError(`${abs}: ${message}`);
  };
  let fd: number;
  try {
    fd = fs.openSync(abs, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' ? 'no such file' : `cannot open (${code ?? String(err)})`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return fail('not a regular file');
    return read(fd, stat.size, fail, abs);
  } finally {
    fs.closeSync(fd);
  }
}
