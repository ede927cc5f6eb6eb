// What each unit the engine streams holds: its bytes on disk and their mix of storage types, in
// the engine's unit order (embed, layers.0.., lm_head), so the profile can say what every token
// reads and where a smaller type would help.
import { layerTensorRefs, type LayerTensors, type LoadPlan, type TensorRef } from '../model/types.js';

export interface UnitFacts {
  name: string;
  /** The unit's bytes on disk (embed: the whole embedding, of which a step reads its tokens' rows). */
  bytes: number;
  /** Bytes per storage type (F32, BF16, Q4_K, ...). */
  dtypes: Record<string, number>;
}

function facts(name: string, tensors: TensorRef[]): UnitFacts {
  const dtypes: Record<string, number> = {};
  for (const t of tensors) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + t.bytes;
  return { name, bytes: tensors.reduce((a, t) => a + t.bytes, 0), dtypes };
}

export function unitFacts(plan: LoadPlan): UnitFacts[] {
  return [
    facts('embed', [plan.embed]),
    ...plan.layers.map((l: LayerTensors, i) => facts(`layers.${i}`, layerTensorRefs(l))),
    facts('lm_head', [plan.lmHead]),
  ];
}

/** "Q5_0 74%, Q8_0 21%, F32 1%": a unit's (or a model's) types by share of its bytes. */
export function dtypeMix(dtypes: Record<string, number>): string {
  const total = Object.values(dtypes).reduce((a, b) => a + b, 0) || 1;
  return Object.entries(dtypes)
    .sort((a, b) => b[1] - a[1])
    .map(([t, b]) => `${t} ${((100 * b) / total).toFixed(b / total < 0.01 ? 1 : 0)}%`)
    .join(', ');
}

/** Bytes of one routed expert (all experts of a model have the same shapes and types in practice); 0 for a dense model. */
export function expertBytesOf(plan: LoadPlan): number {
  const expert = plan.layers.find((l) => l.experts?.length)?.experts![0];
  return expert ? expert.gate_proj.bytes + expert.up_proj.bytes + expert.down_proj.bytes : 0;
}
