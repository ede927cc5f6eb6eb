// Synchronous work in tests one after another must not add up to one long stretch in which the
// worker reads nothing (see event-loop-turn.ts).
import { access } from 'node:fs';
import { expect, it } from 'vitest';

let ioDone = false;

it('a test ends with synchronous work that starts I/O', async () => {
  // Resumed from an I/O callback, so the rest runs in the event loop's poll phase, the hardest case.
  await new Promise((resolve) => access('/', resolve));
  access('/', () => (ioDone = true));
  // The thread pool finishes the access meanwhile; only a later poll phase can report it.
  const until = Date.now() + 50;
  while (Date.now() < until);
});

it('the next test starts after the event loop has read the I/O that finished', () => {
  expect(ioDone).toBe(true);
});
