// The GGUF files bench:vs-llama-cpp runs: random weights in a real model's shape, written by
// rabbit-bench synth --out FILE.gguf in the given type mix, once, into the rabbit-bench cache.
import { parseMix } from '../quantize/quantize.js';
import { ensureSynthesised } from '../synth/cache.js';
import { SYNTH_VERSION } from '../synth/checkpoint.js';
import { writeSyntheticGguf } from '../synth/gguf.js';
import { shapeConfig, withByteLevelTokenIds } from '../synth/shapes.js';

const SEED = 0;

export function ensureGgufModel(shape: string, type: string, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  return ensureSynthesised({
    name: `${shape}-${type}-seed${SEED}-v${SYNTH_VERSION}.gguf`,
    what: `${shape} as ${type} GGUF (random weights, seed ${SEED})`,
    write: (file) => writeSyntheticGguf(file, { config: withByteLevelTokenIds(shapeConfig(shape, { seed: SEED })), mix: parseMix(type), seed: SEED, name: shape }),
  }, log, env);
}
