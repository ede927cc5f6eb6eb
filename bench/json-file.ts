// Reading a JSON file a user gave us: errors name the file and say what was wrong with it.
import { readFileSync } from 'node:fs';
import { UserError } from './errors.js';

export function readJsonFile(path: string, what: string, makeError: (message: string) => Error = (m) => new UserError(m)): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw makeError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw makeError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}
