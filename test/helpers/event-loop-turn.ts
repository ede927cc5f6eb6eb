// vitest setup file. vitest starts each test right after the last one ends, without a turn of the
// event loop, so synchronous tests one after another run as one stretch in which the worker reads
// nothing from its main process; the RPC calls it made meanwhile (onTaskUpdate) time out after a
// fixed 60 s and fail the run. Before each test the loop goes round until it has polled for I/O:
// a check phase, then the next iteration's poll phase, then its check phase.
import { beforeEach } from 'vitest';

// Taken before any test can install fake timers, which would never fire it.
const { setImmediate } = globalThis;

beforeEach(() => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve))));
