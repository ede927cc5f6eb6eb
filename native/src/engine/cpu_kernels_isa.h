// The per-instruction-set half of the CPU kernels; cpu_kernels.cpp owns blocking, packing,
// threading and the choice of set.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/model.h"

namespace rb::cpu::isa {

constexpr int kPanel = 16;

struct Kernels {
  const char* name;
  // For the n rows of X (stride ldx) and an f32 panel P of kc x kPanel (k-major):
  // Y[t][j] = (accumulate ? Y[t][j] : bias ? bias[j] : 0) + sum_k X[t][k] * P[k][j], for j < cols.
  void (*panel)(const float* X, size_t ldx, int n, const float* P, int kc, const float* bias, bool accumulate,
                float* Y, size_t ldy, int cols);
  // Rows [0, rows) of a row-major matrix W (stride ldw elements, `dtype`) against the n rows of X:
  // Y[t][r] = (bias ? bias[r] : 0) + sum_k X[t][k] * W[r][k], k < cols.
  void (*rows)(DType dtype, const float* X, size_t ldx, int n, const uint8_t* W, size_t ldw, int rows, int cols,
               const float* bias, float* Y, size_t ldy);
  float (*dot)(const float* a, const float* b, int n);
  void (*axpy)(float a, const float* x, float* y, int n);
};

// Null when this build has no AVX2 kernels (not x86-64). Call only on a CPU with AVX2+FMA+F16C.
const Kernels* avx2();

}  // namespace rb::cpu::isa
