// What a decode token would read in each GGUF type mix: the bytes `rabbit-bench quantize --type T`
// would give the decoder layers and the lm_head of a loaded model, computed from its tensors'
// shapes with the mix rules the writer applies.
import { storageBytes } from '../model/dtype.js';
import type { LoadPlan } from '../model/types.js';
import type { QuantMix } from './mix.js';
import { planValueSources } from './sources.js';
import { plannedType, writtenName } from './write-model.js';

/** The mixes the verdict suggests, from the most bytes to the fewest. */
export const SUGGESTED_MIXES: readonly QuantMix[] = ['Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M'];

export interface MixEstimate {
  type: QuantMix;
  /** Weight bytes per decode token (decoder layers + lm_head). */
  bytes: number;
}

/**
 * None for a mixture-of-experts model: a decode token reads its routed experts, not every tensor,
 * so the whole model's bytes would overstate what it reads.
 */
export function mixEstimates(plan: LoadPlan, mixes: readonly QuantMix[] = SUGGESTED_MIXES): MixEstimate[] {
  if (plan.spec.moe) return [];
  const decode = planValueSources(plan).filter((s) => s.hfName.startsWith('model.layers.') || s.hfName === 'lm_head.weight');
  // Tied: the lm_head is the embedding, which the writer stores as the output matrix.
  if (plan.lmHeadTied) decode.push({ hfName: 'model.embed_tokens.weight', shape: plan.embed.shape, produce: () => undefined });
  return mixes.map((type) => ({
    type,
    bytes: decode.reduce((sum, s) => {
      const { dtype } = plannedType(type, writtenName(s.hfName), s.shape, plan.spec);
      return sum + storageBytes(dtype, s.shape.reduce((a, b) => a * b, 1))!;
    }, 0),
  }));
}
