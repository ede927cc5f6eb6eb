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

// Attention of one query head over `count` cached positions (rows `stride` floats apart):
// out[i] = scale * <q, K_i>, then out = sum_i softmax(s)_i * V_i with s overwritten.
void attentionScores(const float* q, const float* K, size_t stride, int count, int D, float scale, float* out);
void softmaxMix(float* s, int count, const float* V, size_t stride, int D, float* out);

// Y = X / rms(X) * weight, row by row (rows of `dim`), as transformers' RMSNorm in float32.
void rmsnorm(const float* X, const float* weight, int rows, int dim, float eps, float* Y);

// gate <- silu(gate) * up, elementwise.
void swiglu(float* gate, const float* up, size_t n);

// The instruction set the kernels run with: "avx512", "avx2" or "portable".
// RABBIT_BENCH_CPU_KERNELS (auto|avx512|avx2|portable) overrides the choice, for A/B
// measurements and tests; asking for an instruction set the CPU lacks throws.
const char* kernelIsa();

}  // namespace rb::cpu
