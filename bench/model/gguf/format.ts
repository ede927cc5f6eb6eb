// The GGUF container as llama.cpp's ggml defines it (GGUF v2/v3): value types of the metadata and
// the tensor types, with the block layouts of the ones whose sizes are known. Little-endian only.
import { DTYPE_LAYOUT, type TensorDtype } from '../dtype.js';

export const GGUF_MAGIC = 'GGUF';
export const DEFAULT_ALIGNMENT = 32;

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** Bytes of a fixed-size value type; strings and arrays have none. */
export const VALUE_BYTES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

export interface GgmlType {
  name: string;
  blockElems: number;
  blockBytes: number;
  /** The engine's dtype, when it runs this type. */
  dtype?: TensorDtype;
}

/** A type the engine runs: its layout is the engine's (dtype.ts). */
const runs = (dtype: TensorDtype): GgmlType => ({ name: dtype, ...DTYPE_LAYOUT[dtype], dtype });

/** ggml_type ids with their layouts (ggml.h, gguf-py GGML_QUANT_SIZES). */
export const GGML_TYPES: ReadonlyMap<number, GgmlType> = new Map<number, GgmlType>([
  [0, runs('F32')],
  [1, runs('F16')],
  [2, runs('Q4_0')],
  [3, runs('Q4_1')],
  [6, runs('Q5_0')],
  [7, runs('Q5_1')],
  [8, runs('Q8_0')],
  [9, { name: 'Q8_1', blockElems: 32, blockBytes: 40 }],
  [10, runs('Q2_K')],
  [11, runs('Q3_K')],
  [12, runs('Q4_K')],
  [13, runs('Q5_K')],
  [14, runs('Q6_K')],
  [15, { name: 'Q8_K', blockElems: 256, blockBytes: 292 }],
  [16, { name: 'IQ2_XXS', blockElems: 256, blockBytes: 66 }],
  [17, { name: 'IQ2_XS', blockElems: 256, blockBytes: 74 }],
  [18, { name: 'IQ3_XXS', blockElems: 256, blockBytes: 98 }],
  [19, { name: 'IQ1_S', blockElems: 256, blockBytes: 50 }],
  [20, { name: 'IQ4_NL', blockElems: 32, blockBytes: 18 }],
  [21, { name: 'IQ3_S', blockElems: 256, blockBytes: 110 }],
  [22, { name: 'IQ2_S', blockElems: 256, blockBytes: 82 }],
  [23, { name: 'IQ4_XS', blockElems: 256, blockBytes: 136 }],
  [24, { name: 'I8', blockElems: 1, blockBytes: 1 }],
  [25, { name: 'I16', blockElems: 1, blockBytes: 2 }],
  [26, { name: 'I32', blockElems: 1, blockBytes: 4 }],
  [27, { name: 'I64', blockElems: 1, blockBytes: 8 }],
  [28, { name: 'F64', blockElems: 1, blockBytes: 8 }],
  [29, { name: 'IQ1_M', blockElems: 256, blockBytes: 56 }],
  [30, runs('BF16')],
  [34, { name: 'TQ1_0', blockElems: 256, blockBytes: 54 }],
  [35, { name: 'TQ2_0', blockElems: 256, blockBytes: 66 }],
  [39, { name: 'MXFP4', blockElems: 32, blockBytes: 17 }],
]);

/** The ggml_type id of an engine dtype (for writing GGUF files). */
export function ggmlTypeId(dtype: TensorDtype): number {
  for (const [id, t] of GGML_TYPES) if (t.dtype === dtype) return id;
  throw new Error(`no ggml type for ${dtype}`);
}

/** llama.cpp's general.file_type values for the mixes rabbit-bench writes (llama_ftype). */
export const FILE_TYPES: Readonly<Record<string, number>> = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q8_0: 7,
  Q5_0: 8,
  Q5_1: 9,
  Q2_K: 10,
  Q3_K_M: 12,
  Q4_K_M: 15,
  Q5_K_M: 17,
  Q6_K: 18,
  BF16: 32,
};
