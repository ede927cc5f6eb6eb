// AVX-512 prefill kernel: the same blocked matrix-matrix product as the AVX2 one, on panels of
// 32 outputs (two 16-wide registers) and 12 token rows, which the 32 vector registers allow.
// Quantized decode (compute-bound: every value is unpacked and widened) takes the 16-lane
// products; float decode and attention are bandwidth- or latency-bound and keep the AVX2 kernels. As with the
// AVX2 file, nothing here may be an inline function or template shared with other files.
#include <immintrin.h>

#include "engine/cpu_kernels_isa.h"

namespace rb::cpu::isa {
namespace {

constexpr int kWidth = 32;

template <int MR>
void tile(const float* X, size_t ldx, const float* P, int kc, const float* bias, bool accumulate, float* Y,
          size_t ldy, int cols) {
  __m512 acc[MR][2];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int k = 0; k < kc; ++k) {
    const __m512 w0 = _mm512_load_ps(P + k * kWidth);
    const __m512 w1 = _mm512_load_ps(P + k * kWidth + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 x = _mm512_set1_ps(X[r * ldx + k]);
      acc[r][0] = _mm512_fmadd_ps(x, w0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(x, w1, acc[r][1]);
    }
  }
  const __mmask16 m0 = cols >= 16 ? 0xffff : static_cast<__mmask16>((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : static_cast<__mmask16>((1u << (cols - 16)) - 1);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    float* y = Y + r * ldy;
    const __m512 b0 = accumulate ? _mm512_maskz_loadu_ps(m0, y) : bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 b1 = accumulate ? _mm512_maskz_loadu_ps(m1, y + 16) : bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(y, m0, _mm512_add_ps(b0, acc[r][0]));
    _mm512_mask_storeu_ps(y + 16, m1, _mm512_add_ps(b1, acc[r][1]));
  }
}

template <int MR>
void tail(const float* X, size_t ldx, int rows, const float* P, int kc, const float* bias, bool accumulate, float* Y,
          size_t ldy, int cols) {
  if constexpr (MR > 0) {
    if (rows == MR) {
      tile<MR>(X, ldx, P, kc, bias, accumulate, Y, ldy, cols);
    } else {
      tail<MR - 1>(X, ldx, rows, P, kc, bias, accumulate, Y, ldy, cols);
    }
  }
}

void panel(const float* X, size_t ldx, int n, const float* P, int kc, const float* bias, bool accumulate, float* Y,
           size_t ldy, int cols) {
  constexpr int MR = 12;
  int t = 0;
  for (; t + MR <= n; t += MR) tile<MR>(X + t * ldx, ldx, P, kc, bias, accumulate, Y + t * ldy, ldy, cols);
  tail<MR - 1>(X + t * ldx, ldx, n - t, P, kc, bias, accumulate, Y + t * ldy, ldy, cols);
}

// The float types' rows are the AVX2 kernel's (bandwidth-bound); set once by avx512().
decltype(Kernels::rows) floatRows = nullptr;

void rows(DType dtype, const float* X, size_t ldx, int n, const uint8_t* W, size_t rowBytes, int count, int cols,
          const float* bias, const float* xsum, float* Y, size_t ldy) {
  if (dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16) {
    floatRows(dtype, X, ldx, n, W, rowBytes, count, cols, bias, xsum, Y, ldy);
  } else {
    quantRowsAvx512(dtype, X, ldx, n, W, rowBytes, count, cols, bias, xsum, Y, ldy);
  }
}

}  // namespace

const Kernels* avx512(const Kernels& avx2) {
  floatRows = avx2.rows;
  static const Kernels k{"avx512", kWidth, &panel, &rows, avx2.scores, avx2.softmaxMix};
  return &k;
}

}  // namespace rb::cpu::isa
