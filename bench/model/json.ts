import { ModelError } from '../errors.js';
import { parseJsonText, readTextFile } from '../json-file.js';

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON.stringify for error messages; `undefined` would otherwise vanish from them. */
export function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/** What a JSON value is, without what it says: file contents stay out of error messages. */
function jsonKind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/**
 * Parses a JSON file that must hold an object, with errors that name the file. `uniqueKeys` refuses
 * a key repeated within one object, where JSON.parse (and Python's json) would let the last one win.
 */
export function readJsonObject(file: string, opts: { uniqueKeys?: boolean } = {}): JsonObject {
  const makeError = (m: string) => new ModelError(m);
  const text = readTextFile(file, 'model file', makeError);
  const value = parseJsonText(text, file, makeError);
  if (!isJsonObject(value)) throw new ModelError(`${file}: expected a JSON object, found ${jsonKind(value)}`);
  const repeated = opts.uniqueKeys ? firstRepeatedKey(text) : undefined;
  if (repeated !== undefined) throw new ModelError(`${file}: ${repeatedKeyMessage(repeated)}`);
  return value;
}

export function repeatedKeyMessage(key: string): string {
  return `'${key}' appears twice in one object; a JSON reader keeps only the last, so the file is ambiguous`;
}

/** The first key that appears twice within one object of `text`, which must be valid JSON. */
export function firstRepeatedKey(text: string): string | undefined {
  // One set of keys per open object; null for an open array, whose strings are values.
  const open: (Set<string> | null)[] = [];
  let atKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = i + 1;
      let escaped = false;
      while (text.charCodeAt(end) !== 0x22) {
        if (text.charCodeAt(end) === 0x5c /* \ */) {
          escaped = true;
          end++;
        }
        end++;
      }
      const keys = open[open.length - 1];
      if (atKey && keys) {
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (keys.has(key)) return key;
        keys.add(key);
      }
      atKey = false;
      i = end;
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      atKey = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
    } else if (c === 0x2c /* , */) {
      atKey = open[open.length - 1] !== null;
    }
  }
  return undefined;
}
