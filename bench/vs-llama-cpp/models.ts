// The GGUF files bench:vs-llama-cpp runs: random weights in a real model's shape, written by
// rabbit-bench synth --format gguf in the given type mix, once, into the rabbit-bench cache.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../profile/default-model.js';
import { parseMix } from '../quantize/quantize.js';
import { SYNTH_VERSION } from '../synth/checkpoint.js';
import { writeSyntheticGguf } from '../synth/gguf.js';
import { shapeConfig, withByteLevelTokenIds } from '../synth/shapes.js';

const SEED = 0;

export function ensureGgufModel(shape: string, type: string, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  const dir = join(cacheDir(env), 'models');
  const file = join(dir, `${shape}-${type}-seed${SEED}-v${SYNTH_VERSION}.gguf`);
  if (existsSync(file)) return file;
  log(`synthesising ${shape} as ${type} GGUF (random weights, seed ${SEED}) into ${file} — once`);
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.partial-${process.pid}`;
  rmSync(partial, { force: true });
  writeSyntheticGguf(partial, { config: withByteLevelTokenIds(shapeConfig(shape, { seed: SEED })), mix: parseMix(type), seed: SEED, name: shape });
  renameSync(partial, file);
  return file;
}
