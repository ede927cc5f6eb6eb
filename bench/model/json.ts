import { ModelError } from '../errors.js';
import { readJsonFile } from '../json-file.js';

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

/** Parses a JSON file that must hold an object, with errors that name the file. */
export function readJsonObject(file: string): JsonObject {
  const value = readJsonFile(file, 'model file', (m) => new ModelError(m));
  if (!isJsonObject(value)) throw new ModelError(`${file}: expected a JSON object, found ${jsonKind(value)}`);
  return value;
}
