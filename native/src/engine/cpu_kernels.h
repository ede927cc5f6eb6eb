// Kernels of the CPU backend. Weight matrices stay row-major in their checkpoint dtype: decode
// (a few token rows) reads each weight once, as dot products straight from those bytes, widening
// bf16/f16 or unpacking quantized blocks in registers, so no f32 copy of them ever exists;
// prefill (many rows) copies blocks of rows into an f32 panel (quantized blocks dequantized
// exactly) that stays in cache while every token row passes over it (blocked matrix-matrix).
// Both paths are the same whether a unit is streamed or resident, so the two modes give
// bit-identical logits. The instruction set is chosen at run time (AVX-512F/BW/VL for the prefill
// kernel and the quantized dot products, AVX2+FMA+F16C for the rest, when the CPU has them; else
// portable C++); builds never use -march=native.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/model.h"

namespace rb::cpu {

// A [rows x cols] weight matrix (y = W x), row-major, in `dtype` (a quantized row is whole blocks).
struct WeightMatrix {
  WeightMatrix() = default;
  WeightMatrix(DType t, int r, int c, const uint8_t* d)
      : dtype(t), rows(r), cols(c), data(d), rowBytes(static_cast<size_t>(storageBytes(t, c))) {}
  DType dtype = DType::F32;
  int rows = 0;
  int cols = 0;
  const uint8_t* data = nullptr;
  size_t rowBytes = 0;
  const uint8_t* row(int r) const { return data + static_cast<size_t>(r) * rowBytes; }
};

// One product of a fused call: Y[n x W.rows] = X[n x W.cols] * W^T (+ bias).
struct GemmJob {
  WeightMatrix W;
  const float* bias = nullptr;
  float* Y = nullptr;
};

// Runs every job on the same X ([n x cols], row-major) in one parallel region, so Q/K/V (or
// gate/up) cost one wake-up of the worker threads, not three.
void gemm(const float* X, int n, const GemmJob* jobs, int count);
inline void gemm(const float* X, int n, const GemmJob& job) { gemm(X, n, &job, 1); }

// The shape of one layer's attention. Query head h reads cache head h / (heads / kvHeads).
struct AttentionShape {
  int heads = 0;
  int kvHeads = 0;
  int headDim = 0;
  int window = 0;  // > 0: a query attends to at most the last `window` positions (its own included)
  float scale = 1.0f;
  // Fault::BooleanMask: every query attends to every cached position, with 1 added to the
  // scores of the ones it may see, as a 0/1 mask added in place of -inf would.
  bool booleanMaskFault = false;
};

// Causal softmax attention of n new query rows (heads x headDim floats each, at positions
// pos0 .. pos0 + n - 1) over the cache (K and V: positions 0 .. pos0 + n - 1, kvHeads x headDim
// floats each). out has the layout of Q. A few rows (decode) take dot products per query; many
// rows (prefill) take the queries of one cache head and a run of positions as a block, and scores
// and mix become the same panel matrix products as gemm.
void attention(const float* Q, int n, int pos0, const float* K, const float* V, const AttentionShape& shape,
               float* out);

// Y = X / rms(X) * weight, row by row (rows of `dim`), as transformers' RMSNorm in float32.
void rmsnorm(const float* X, const float* weight, int rows, int dim, float eps, float* Y);

// gate <- silu(gate) * up, elementwise.
void swiglu(float* gate, const float* up, size_t n);

// The instruction set the kernels run with: "avx512", "avx2" or "portable".
// RABBIT_BENCH_CPU_KERNELS (auto|avx512|avx2|portable) overrides the choice, for A/B
// measurements and tests; asking for an instruction set the CPU lacks throws.
const char* kernelIsa();

}  // namespace rb::cpu
