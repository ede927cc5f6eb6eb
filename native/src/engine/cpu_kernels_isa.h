// The per-instruction-set half of the CPU kernels; cpu_kernels.cpp owns blocking, packing,
// threading and the choice of set.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/model.h"

namespace rb::cpu::isa {

constexpr int kPanel = 16;

// Decode streams every weight once from memory: the hardware prefetcher alone leaves half of the
// bandwidth unused on these interleaved row streams (measured on a 345 MB bf16 matrix: 7.6 -> 12.7
// GB/s on one core, 12.5 -> 20.7 GB/s on two), so each row is also prefetched this far ahead.
constexpr int kRowPrefetchBytes = 8192;

// Per row of X: cols/16 sums of 16 values, then cols/32 sums of 32 values.
struct XSums {
  static int stride(int cols) { return cols / 16 + cols / 32; }
};

// The dot products of quantized rows (cpu_kernels_quant.inc), behind Kernels::rows: 8-lane
// (cpu_kernels_avx2_quant.cpp) and 16-lane (cpu_kernels_avx512_quant.cpp).
void quantRowsAvx2(DType dtype, const float* X, size_t ldx, int n, const uint8_t* W, size_t rowBytes, int rows,
                   int cols, const float* bias, const float* xsum, float* Y, size_t ldy);
void quantRowsAvx512(DType dtype, const float* X, size_t ldx, int n, const uint8_t* W, size_t rowBytes, int rows,
                     int cols, const float* bias, const float* xsum, float* Y, size_t ldy);

struct Kernels {
  const char* name;
  // Outputs per panel: a multiple of kPanel.
  int panelWidth;
  // For the n rows of X (stride ldx) and an f32 panel P of kc x panelWidth (k-major); null when
  // the set reads weights in place for any number of rows:
  // Y[t][j] = (accumulate ? Y[t][j] : bias ? bias[j] : 0) + sum_k X[t][k] * P[k][j], for j < cols.
  void (*panel)(const float* X, size_t ldx, int n, const float* P, int kc, const float* bias, bool accumulate,
                float* Y, size_t ldy, int cols);
  // Rows [0, rows) of a row-major matrix W (rows `rowBytes` apart, `dtype`) against the n rows of X:
  // Y[t][r] = (bias ? bias[r] : 0) + sum_k X[t][k] * W[r][k], k < cols. `xsum` holds, for each
  // row of X, its sums over every 16 and then every 32 values (XSums), which quantized types with
  // a per-block minimum use; null for the float types.
  void (*rows)(DType dtype, const float* X, size_t ldx, int n, const uint8_t* W, size_t rowBytes, int rows, int cols,
               const float* bias, const float* xsum, float* Y, size_t ldy);
  // out[i] = scale * <q, K_i> for i < count; K_i = K + i * stride, vectors of D floats.
  void (*scores)(const float* q, const float* K, size_t stride, int count, int D, float scale, float* out);
  // out = sum_i softmax(s)_i * V_i (V_i = V + i * stride, D floats); s is overwritten.
  void (*softmaxMix)(float* s, int count, const float* V, size_t stride, int D, float* out);
  // s[i] <- e^(s[i] - max_j s[j]) for i < count; returns the sum of the new s.
  float (*expShifted)(float* s, int count);
  // P[k * panelWidth + j] = rows[j * kc + k]: panelWidth rows of kc values into a k-major panel
  // (P 64-byte aligned). Null: packing transposes element by element.
  void (*transposePanel)(const float* rows, int kc, float* P);
  // gate[i] <- silu(gate[i]) * up[i].
  void (*swiglu)(float* gate, const float* up, size_t n);
};

// Null when this build has no AVX2 kernels (not x86-64). Call only on a CPU with AVX2+FMA+F16C.
const Kernels* avx2();
// The AVX-512F prefill kernel and quantized dot products, with `avx2`'s others. Null when not
// built. Call only on a CPU with AVX-512F, BW and VL besides AVX2+FMA+F16C.
const Kernels* avx512(const Kernels& avx2);

}  // namespace rb::cpu::isa
