// Usage: node dist/scripts/build-fixtures.js [OUT_DIR]   (default test/.fixtures)
// Writes the synthetic fixture checkpoints that are missing or stale and prints where they are.

import { buildFixtures } from '../bench/synth/fixtures.js';
import { TEST_FIXTURES_DIR } from './fixtures-dir.js';

const started = Date.now();
for (const [name, dir] of Object.entries(buildFixtures(process.argv[2] ?? TEST_FIXTURES_DIR))) console.log(`${name}\t${dir}`);
console.error(`fixtures ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
