import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The fixture checkpoints the tests build (bench/synth/fixtures.ts), git-ignored. */
export const TEST_FIXTURES_DIR = join(REPO_ROOT, 'test', '.fixtures');
export const STORIES_DIR = resolve(REPO_ROOT, '..', 'shared', 'models', 'stories260K');
export const HAS_STORIES = existsSync(join(STORIES_DIR, 'model.safetensors'));
/** Label for suites that need the shared model, so a skip says why. */
export const STORIES_SUITE = HAS_STORIES ? 'stories260K' : 'stories260K (skipped: ../shared/models/stories260K is absent)';
export const SHARED_MODELS = resolve(REPO_ROOT, '..', 'shared', 'models');
export const STORIES_GGUF_DIR = join(SHARED_MODELS, 'stories260K-gguf');
export const QUANT_SAMPLES_DIR = join(SHARED_MODELS, 'gguf-quant-samples');
export const HAS_SHARED_GGUF = existsSync(join(STORIES_GGUF_DIR, 'stories260K-f32.gguf')) && existsSync(join(QUANT_SAMPLES_DIR, 'llama-256-Q8_0.gguf'));
/** Label for suites that need the GGUF files llama.cpp wrote, so a skip says why. */
export const SHARED_GGUF_SUITE = HAS_SHARED_GGUF ? 'files written by llama.cpp' : 'files written by llama.cpp (skipped: ../shared/models GGUF files are absent)';
