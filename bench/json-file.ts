// Reading a text or JSON file a user gave us: a regular file only (a FIFO would hang the read,
// /dev/zero would never end), of bounded size, with errors that name the file and say what was
// wrong with it, never what it holds.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from './errors.js';

/** Larger than any tokenizer.json or config this tool reads (the largest tokenizers are ~30 MB). */
export const MAX_TEXT_BYTES = 256 * 2 ** 20;

export function readTextFile(path: string, what: string, makeError: (message: string) => Error = (m) => new UserError(m), maxBytes = MAX_TEXT_BYTES): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw makeError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw makeError(`${what} ${path} is not a regular file`);
    if (stat.size > maxBytes) throw makeError(`${what} ${path} is ${stat.size} bytes, more than the ${maxBytes} this tool reads`);
    const buf = Buffer.alloc(stat.size);
    let done = 0;
    while (done < buf.length) {
      const n = readSync(fd, buf, done, buf.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export function readJsonFile(path: string, what: string, makeError: (message: string) => Error = (m) => new UserError(m)): unknown {
  return parseJsonText(readTextFile(path, what, makeError), path, makeError);
}

export function parseJsonText(text: string, path: string, makeError: (message: string) => Error = (m) => new UserError(m)): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8 quotes the text around the error: say where, not what.
    const at = /position (\d+)/.exec((err as Error).message);
    throw makeError(`${path}: not valid JSON${at ? ` (at character ${at[1]})` : ''}`);
  }
}
