// Synthetic models written straight to GGUF: the same seeded random weights as the safetensors
// checkpoints (each tensor's own stream, f32 before any rounding), quantized in the given mix, with
// the byte-level tokenizer, so big shapes can be profiled quantized without any download.
import { parseModelConfig } from '../model/config.js';
import { tokenizerMetadata } from '../quantize/tokenizer-metadata.js';
import type { QuantMix } from '../quantize/mix.js';
import { storageBytes } from '../model/dtype.js';
import { plannedType, writeGgufModel, writtenName, type ValueSource, type WrittenTensor } from '../quantize/write-model.js';
import { checkpointLayout, type TensorPlan } from './layout.js';
import { Rng } from './prng.js';
import { PROVENANCE_KEY } from './shapes.js';
import { byteLevelTokenizer } from './tokenizer.js';

export interface SyntheticGgufOptions {
  /** config.json as Hugging Face writes it (rabbit-bench synth's, with its provenance record). */
  config: Record<string, unknown>;
  mix: QuantMix;
  seed: number;
  name: string;
}

export function writeSyntheticGguf(file: string, o: SyntheticGgufOptions): { bytes: number; tensors: WrittenTensor[] } {
  const layout = checkpointLayout(o.config);
  const { spec } = parseModelConfig(o.config, undefined, 'synthetic config');
  const plans: TensorPlan[] = [...layout.head, ...layout.layers.flat(), ...layout.tail];
  const { tokenizer } = byteLevelTokenizer(spec.maxPositions);
  const provenance = o.config[PROVENANCE_KEY] as Record<string, unknown> | undefined;
  return writeGgufModel(file, {
    spec,
    name: o.name,
    mix: o.mix,
    tensors: plans.map((p) => randomSource(p, o.seed)),
    tokenizer: tokenizerMetadata(tokenizer, spec, undefined).entries,
    provenance: provenance ? { ...provenance, gguf_type: o.mix } : undefined,
  });
}

/** Bytes the file will take: its tensors exactly, plus room for the header and tokenizer. */
export function estimateGgufBytes(config: Record<string, unknown>, mix: QuantMix): number {
  const layout = checkpointLayout(config);
  const { spec } = parseModelConfig(config, undefined, 'synthetic config');
  const plans = [...layout.head, ...layout.layers.flat(), ...layout.tail];
  const data = plans.reduce((sum, p) => {
    const { dtype } = plannedType(mix, writtenName(p.name), p.shape, spec);
    return sum + storageBytes(dtype, p.shape.reduce((a, b) => a * b, 1))! + 32;
  }, 0);
  return data + (1 << 20);
}

function randomSource(plan: TensorPlan, seed: number): ValueSource {
  return {
    hfName: plan.name,
    shape: plan.shape,
    produce(rows, emit) {
      const rng = new Rng(seed, plan.name);
      const cols = plan.shape[plan.shape.length - 1];
      const total = plan.shape.length === 1 ? 1 : plan.shape[0];
      const per = plan.shape.length === 1 ? 1 : rows;
      for (let r = 0; r < total; r += per) {
        const values = new Float32Array(Math.min(per, total - r) * cols);
        rng.fillNormal(values, plan.mean, plan.std);
        emit(values);
      }
    },
  };
}
