// What a result file says about the model it measured.
import { basename } from 'node:path';
import { modelArgument } from '../model/resolve.js';
import { layerTensorRefs, type LoadPlan, type TensorRef } from '../model/types.js';
import type { ModelInfo } from '../results/profile-schema.js';

function planTensors(plan: LoadPlan): TensorRef[] {
  const all = [plan.embed, plan.finalNorm, plan.lmHead, ...plan.layers.flatMap((l) => layerTensorRefs(l))];
  return [...new Set(all)];
}

export function modelInfo(plan: LoadPlan): ModelInfo {
  const tensors = planTensors(plan);
  const provenance = plan.provenance as { shape?: string | null; seed?: number } | undefined;
  const shape = provenance?.shape ?? null;
  const fileName = plan.source.format === 'gguf' ? basename(plan.source.file, '.gguf') : basename(plan.modelDir);
  return {
    name: shape ?? fileName,
    // What --model takes to open it again: the folder, or the GGUF file.
    dir: modelArgument(plan.source),
    architecture: plan.spec.architecture,
    dtype: plan.spec.dtype,
    params: tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0),
    weight_bytes: tensors.reduce((a, t) => a + t.bytes, 0),
    num_layers: plan.spec.numLayers,
    hidden_size: plan.spec.hiddenSize,
    synthetic: provenance ? { shape: shape ?? 'custom-config', seed: provenance.seed ?? 0 } : null,
  };
}
