// llama.cpp's converter stores each head's Q and K rows of llama-architecture models interleaved
// (for its RoPE): row 2i + s of a head is row s * headDim/2 + i of transformers' order.

/** transformers' order -> GGUF's interleaved order, for rows of `cols` values in whole heads. */
export function interleaveRows(values: Float32Array, headDim: number, cols: number): Float32Array {
  return permuteHeads(values, headDim, cols, (s, i, half) => [s * half + i, 2 * i + s]);
}

/** GGUF's interleaved order -> transformers' order. */
export function deinterleaveRows(values: Float32Array, headDim: number, cols: number): Float32Array {
  return permuteHeads(values, headDim, cols, (s, i, half) => [2 * i + s, s * half + i]);
}

function permuteHeads(
  values: Float32Array,
  headDim: number,
  cols: number,
  move: (s: number, i: number, half: number) => [from: number, to: number],
): Float32Array {
  const out = new Float32Array(values.length);
  const half = headDim / 2;
  const heads = values.length / (headDim * cols);
  for (let h = 0; h < heads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let i = 0; i < half; i++) {
        const [from, to] = move(s, i, half);
        const at = (h * headDim + from) * cols;
        out.set(values.subarray(at, at + cols), (h * headDim + to) * cols);
      }
    }
  }
  return out;
}
