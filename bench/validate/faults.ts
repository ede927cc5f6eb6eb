// Test-only fault injection per cell (`--inject-fault MODEL/PROMPT/DEVICE=FAULT`), to prove
// that validate reports broken, crashing and hanging cells and keeps going.
import { UserError } from '../errors.js';

/** The engine's own faults (RABBIT_BENCH_FAULT), `none` to exempt a cell from a global one, and `hang`. */
export const CELL_FAULTS = ['none', 'boolean-mask', 'untied-lm-head', 'wrong-rope', 'abort', 'hang'] as const;

/** Set for a cell given `hang`: the child blocks forever, with a grandchild in its process group. */
export const HANG_ENV = 'RABBIT_BENCH_VALIDATE_HANG';

/** Parses repeated `CELL=FAULT` into a map, checking the fault names (cells are checked once the matrix is known). */
export function parseInjectFaults(specs: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of specs) {
    const at = spec.lastIndexOf('=');
    const fault = spec.slice(at + 1);
    if (at <= 0 || !(CELL_FAULTS as readonly string[]).includes(fault)) {
      throw new UserError(`--inject-fault ${spec}: expected MODEL/PROMPT/DEVICE=FAULT with FAULT one of ${CELL_FAULTS.join(', ')}`, 2);
    }
    out.set(spec.slice(0, at), fault);
  }
  return out;
}

/** The child's environment: the parent's, with the cell's fault. */
export function cellEnv(fault: string | undefined, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  delete env[HANG_ENV];
  if (fault === 'hang') env[HANG_ENV] = '1';
  else if (fault) env.RABBIT_BENCH_FAULT = fault;
  return env;
}
