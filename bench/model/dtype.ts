// Tensor storage types the engine reads: the safetensors float types and ggml's block-quantized
// types from GGUF files. One table; the engine (native/src/engine/dtype.cpp) holds the same.
import type { ModelDtype } from './types.js';

export type FloatDtype = 'F32' | 'F16' | 'BF16';
export type QuantDtype = 'Q8_0' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q2_K' | 'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K';
export type TensorDtype = FloatDtype | QuantDtype;

export interface DtypeLayout {
  /** Values per block (1 for the float types). */
  blockElems: number;
  blockBytes: number;
}

export const DTYPE_LAYOUT: Readonly<Record<TensorDtype, DtypeLayout>> = {
  F32: { blockElems: 1, blockBytes: 4 },
  F16: { blockElems: 1, blockBytes: 2 },
  BF16: { blockElems: 1, blockBytes: 2 },
  Q8_0: { blockElems: 32, blockBytes: 34 },
  Q4_0: { blockElems: 32, blockBytes: 18 },
  Q4_1: { blockElems: 32, blockBytes: 20 },
  Q5_0: { blockElems: 32, blockBytes: 22 },
  Q5_1: { blockElems: 32, blockBytes: 24 },
  Q2_K: { blockElems: 256, blockBytes: 84 },
  Q3_K: { blockElems: 256, blockBytes: 110 },
  Q4_K: { blockElems: 256, blockBytes: 144 },
  Q5_K: { blockElems: 256, blockBytes: 176 },
  Q6_K: { blockElems: 256, blockBytes: 210 },
};

export const TENSOR_DTYPES = Object.keys(DTYPE_LAYOUT) as TensorDtype[];

export const FLOAT_DTYPE_BYTES: Readonly<Record<FloatDtype, number>> = { F32: 4, F16: 2, BF16: 2 };

/** The safetensors dtype of each config.json `torch_dtype`. */
export const FLOAT_DTYPE_OF: Readonly<Record<'float32' | 'float16' | 'bfloat16', FloatDtype>> = {
  float32: 'F32',
  bfloat16: 'BF16',
  float16: 'F16',
};

/** The command lines' short names for a checkpoint's dtype (--dtype f32|bf16|f16). */
export const DTYPE_FLAGS = { f32: 'float32', bf16: 'bfloat16', f16: 'float16' } as const satisfies Readonly<Record<string, ModelDtype>>;
export type DtypeFlag = keyof typeof DTYPE_FLAGS;
/** A dtype's short name, as the command lines (and cache names) spell it. */
export const DTYPE_FLAG_OF = Object.fromEntries(Object.entries(DTYPE_FLAGS).map(([flag, dtype]) => [dtype, flag])) as Readonly<Record<ModelDtype, DtypeFlag>>;

export function isQuantized(dtype: TensorDtype): dtype is QuantDtype {
  return DTYPE_LAYOUT[dtype].blockElems > 1;
}

/** Bits each stored value costs, blocks' scales included (e.g. Q4_K: 4.5). */
export function bitsPerValue(dtype: TensorDtype): number {
  const { blockElems, blockBytes } = DTYPE_LAYOUT[dtype];
  return (8 * blockBytes) / blockElems;
}

/** Bytes of `count` values, or undefined when they are not a whole number of blocks. */
export function storageBytes(dtype: TensorDtype, count: number): number | undefined {
  const { blockElems, blockBytes } = DTYPE_LAYOUT[dtype];
  return count % blockElems === 0 ? (count / blockElems) * blockBytes : undefined;
}
