// Which type each tensor gets in a GGUF file of a given mix. The named mixes follow the policy
// llama.cpp's llama-quantize documents for dense models (checked against the type counts of the
// files in ../shared/models/gguf-quant-samples): a base type for the matrices, the output matrix
// (the embedding, when tied) in Q6_K, and for the _M mixes more bits on attn_v and ffn_down in the
// layers that matter most. Vectors (norms, biases) stay F32.
import { DTYPE_LAYOUT, type TensorDtype } from '../model/dtype.js';

export const QUANT_MIXES = [
  'F32', 'F16', 'BF16', 'Q8_0', 'Q6_K', 'Q5_K_M', 'Q5_1', 'Q5_0', 'Q4_K_M', 'Q4_1', 'Q4_0', 'Q3_K_M', 'Q2_K',
] as const;
export type QuantMix = (typeof QUANT_MIXES)[number];

/** The role of a matrix in the mix rules. */
export type MatrixRole = 'output' | 'token_embd' | 'attn_v' | 'attn_output' | 'ffn_down' | 'other';

export interface TensorSlot {
  role: MatrixRole;
  /** Decoder layer index, for per-layer rules. */
  layer?: number;
  numLayers: number;
  /** Values per row (the contiguous dimension). */
  cols: number;
  /** 1-D tensors (norms, biases) stay F32. */
  vector: boolean;
}

const BASE: Readonly<Record<QuantMix, TensorDtype>> = {
  F32: 'F32', F16: 'F16', BF16: 'BF16', Q8_0: 'Q8_0', Q6_K: 'Q6_K', Q5_K_M: 'Q5_K', Q5_1: 'Q5_1', Q5_0: 'Q5_0',
  Q4_K_M: 'Q4_K', Q4_1: 'Q4_1', Q4_0: 'Q4_0', Q3_K_M: 'Q3_K', Q2_K: 'Q2_K',
};

/** llama.cpp's "use more bits" layers: the first and last eighth, and every third in between. */
export function usesMoreBits(layer: number, numLayers: number): boolean {
  const eighth = Math.floor(numLayers / 8);
  return layer < eighth || layer >= Math.floor((7 * numLayers) / 8) || (layer - eighth) % 3 === 2;
}

/** The type a matrix gets before the shape is considered. */
function wanted(mix: QuantMix, slot: TensorSlot): TensorDtype {
  const base = BASE[mix];
  if (['F32', 'F16', 'BF16', 'Q8_0'].includes(mix)) return base;
  if (slot.role === 'output') return 'Q6_K';
  const layer = slot.layer ?? 0;
  switch (mix) {
    case 'Q4_K_M':
    case 'Q5_K_M':
      return (slot.role === 'attn_v' || slot.role === 'ffn_down') && usesMoreBits(layer, slot.numLayers) ? 'Q6_K' : base;
    case 'Q3_K_M':
      if (slot.role === 'attn_v') return layer < 2 ? 'Q5_K' : 'Q4_K';
      return slot.role === 'attn_output' || slot.role === 'ffn_down' ? 'Q4_K' : base;
    case 'Q2_K':
      return slot.role === 'attn_v' || slot.role === 'attn_output' || slot.role === 'ffn_down' ? 'Q3_K' : base;
    default:
      return base;
  }
}

/** The 32-value type llama.cpp falls back to when rows are not whole 256-value super-blocks. */
const FALLBACK: Partial<Record<TensorDtype, TensorDtype>> = {
  Q2_K: 'Q4_0', Q3_K: 'Q4_0', Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0',
};

/** The type of one tensor, and why it is not the wanted one when it is not. */
export function tensorType(mix: QuantMix, slot: TensorSlot): { dtype: TensorDtype; note?: string } {
  if (slot.vector) return { dtype: 'F32' };
  let dtype = wanted(mix, slot);
  if (slot.cols % DTYPE_LAYOUT[dtype].blockElems !== 0 && FALLBACK[dtype]) {
    const fallback = FALLBACK[dtype]!;
    const note = `rows of ${slot.cols} values are not whole ${dtype} super-blocks: ${fallback}`;
    dtype = fallback;
    if (slot.cols % DTYPE_LAYOUT[dtype].blockElems === 0) return { dtype, note };
  }
  if (slot.cols % DTYPE_LAYOUT[dtype].blockElems !== 0) {
    return { dtype: 'F16', note: `rows of ${slot.cols} values are not whole ${dtype} blocks: kept in F16` };
  }
  return { dtype };
}
