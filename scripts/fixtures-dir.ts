// Where the scripts that make goldens, and the tests, keep the fixture checkpoints.
import { join } from 'node:path';
import { repoRoot } from '../bench/paths.js';

export const TEST_FIXTURES_DIR = join(repoRoot(), 'test', '.fixtures');
