import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STORIES_DIR = resolve(REPO_ROOT, '..', 'shared', 'models', 'stories260K');
export const HAS_STORIES = existsSync(join(STORIES_DIR, 'model.safetensors'));
/** Label for suites that need the shared model, so a skip says why. */
export const STORIES_SUITE = HAS_STORIES ? 'stories260K' : 'stories260K (skipped: ../shared/models/stories260K is absent)';
