// Usage: node dist/scripts/build-fixtures.js [OUT_DIR]   (default test/.fixtures)
// Writes the synthetic fixture checkpoints that are missing or stale and prints where they are.

import { buildFixtures } from '../test/fixtures/build.js';

const started = Date.now();
for (const [name, dir] of Object.entries(buildFixtures(process.argv[2]))) console.log(`${name}\t${dir}`);
console.error(`fixtures ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
