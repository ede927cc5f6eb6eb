// What a result file says about the model it measured.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { LoadPlan, TensorRef } from '../model/types.js';
import type { ModelInfo } from '../results/profile-schema.js';
import { PROVENANCE_KEY } from '../synth/shapes.js';

function planTensors(plan: LoadPlan): TensorRef[] {
  const all = [plan.embed, plan.finalNorm, plan.lmHead, ...plan.layers.flatMap((l) => Object.values(l) as TensorRef[])];
  return [...new Set(all)];
}

export function modelInfo(plan: LoadPlan): ModelInfo {
  const tensors = planTensors(plan);
  const config = JSON.parse(readFileSync(join(plan.modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const provenance = config[PROVENANCE_KEY] as { shape?: string | null; seed?: number } | undefined;
  const shape = provenance?.shape ?? null;
  return {
    name: shape ?? basename(plan.modelDir),
    dir: plan.modelDir,
    architecture: plan.spec.architecture,
    dtype: plan.spec.dtype,
    params: tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0),
    weight_bytes: tensors.reduce((a, t) => a + t.bytes, 0),
    num_layers: plan.spec.numLayers,
    hidden_size: plan.spec.hiddenSize,
    synthetic: provenance ? { shape: shape ?? 'custom-config', seed: provenance.seed ?? 0 } : null,
  };
}
