// Typed reads of GGUF metadata, with errors that name the file and the key.
import { ModelError } from '../../errors.js';
import { GgufValueType } from './format.js';
import type { GgufEntry, GgufHeader, GgufValue } from './reader.js';

const INTEGER_TYPES = new Set([
  GgufValueType.UINT8, GgufValueType.INT8, GgufValueType.UINT16, GgufValueType.INT16, GgufValueType.UINT32,
  GgufValueType.INT32, GgufValueType.UINT64, GgufValueType.INT64,
]);
const NUMBER_TYPES = new Set([...INTEGER_TYPES, GgufValueType.FLOAT32, GgufValueType.FLOAT64]);

export class GgufMetadata {
  constructor(private readonly header: GgufHeader) {}

  get file(): string {
    return this.header.file;
  }

  has(key: string): boolean {
    return this.header.metadata.has(key);
  }

  fail(message: string): never {
    throw new ModelError(`${this.header.file}: ${message}`);
  }

  string(key: string): string;
  string(key: string, optional: true): string | undefined;
  string(key: string, optional = false): string | undefined {
    const e = this.entry(key, optional);
    if (!e) return undefined;
    if (e.type !== GgufValueType.STRING) this.fail(`metadata '${key}' must be a string`);
    return e.value as string;
  }

  /** A non-negative integer that fits a JS number. */
  integer(key: string): number;
  integer(key: string, optional: true): number | undefined;
  integer(key: string, optional = false): number | undefined {
    const e = this.entry(key, optional);
    if (!e) return undefined;
    if (!INTEGER_TYPES.has(e.type) || typeof e.value !== 'number' || e.value < 0) {
      this.fail(`metadata '${key}' must be a non-negative integer, found ${describe(e)}`);
    }
    return e.value as number;
  }

  number(key: string): number;
  number(key: string, optional: true): number | undefined;
  number(key: string, optional = false): number | undefined {
    const e = this.entry(key, optional);
    if (!e) return undefined;
    if (!NUMBER_TYPES.has(e.type) || typeof e.value !== 'number' || !Number.isFinite(e.value)) {
      this.fail(`metadata '${key}' must be a number, found ${describe(e)}`);
    }
    return e.value as number;
  }

  boolean(key: string): boolean | undefined {
    const e = this.entry(key, true);
    if (!e) return undefined;
    if (e.type !== GgufValueType.BOOL) this.fail(`metadata '${key}' must be a boolean, found ${describe(e)}`);
    return e.value as boolean;
  }

  strings(key: string): string[] | undefined {
    const e = this.entry(key, true);
    if (!e) return undefined;
    if (e.type !== GgufValueType.ARRAY || e.elementType !== GgufValueType.STRING) this.fail(`metadata '${key}' must be an array of strings`);
    return e.value as string[];
  }

  numbers(key: string): number[] | undefined {
    const e = this.entry(key, true);
    if (!e) return undefined;
    if (e.type !== GgufValueType.ARRAY || !NUMBER_TYPES.has(e.elementType!) || (e.value as GgufValue[]).some((v) => typeof v !== 'number')) {
      this.fail(`metadata '${key}' must be an array of numbers`);
    }
    return e.value as number[];
  }

  private entry(key: string, optional: boolean): GgufEntry | undefined {
    const e = this.header.metadata.get(key);
    if (!e && !optional) this.fail(`metadata '${key}' is missing`);
    return e;
  }
}

function describe(e: GgufEntry): string {
  if (e.type === GgufValueType.ARRAY) return `an array of ${(e.value as GgufValue[]).length}`;
  return `${GgufValueType[e.type]?.toLowerCase() ?? 'a value'} ${String(e.value)}`;
}
