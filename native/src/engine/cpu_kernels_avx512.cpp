// AVX-512 kernels: the prefill panel kernel, the same blocked matrix-matrix product as the AVX2
// one on panels of 32 outputs (two 16-wide registers) and 12 token rows, which the 32 vector
// registers allow; 16-lane decode dot products for every weight type (float rows here, quantized
// in cpu_kernels_avx512_quant.cpp); the panel transpose. Attention's per-query kernels are
// latency-bound and keep the AVX2 ones. As with the AVX2 file, nothing here may be an inline
// function or template shared with other files.
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

// Columns k0 .. k0 + 15 of rows j0 .. j0 + 15 (of `ld` floats) into P rows k0 .. k0 + 15.
void transpose16(const float* src, size_t ld, float* dst) {
  __m512 r[16], t[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * ld);
  // Pairs of rows interleaved, then fours: r[4i + c] holds, in 128-bit lane L, column 4L + c of
  // rows 4i .. 4i + 3.
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const __m512d lo0 = _mm512_castps_pd(t[4 * i]), hi0 = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d lo1 = _mm512_castps_pd(t[4 * i + 2]), hi1 = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo0, lo1));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo0, lo1));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi0, hi1));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi0, hi1));
  }
  // Lane L of the four row groups gathered: column 4L + c.
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m512 even01 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88), odd01 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xdd);
    const __m512 even23 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
    const __m512 odd23 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xdd);
    _mm512_store_ps(dst + c * kWidth, _mm512_shuffle_f32x4(even01, even23, 0x88));
    _mm512_store_ps(dst + (4 + c) * kWidth, _mm512_shuffle_f32x4(odd01, odd23, 0x88));
    _mm512_store_ps(dst + (8 + c) * kWidth, _mm512_shuffle_f32x4(even01, even23, 0xdd));
    _mm512_store_ps(dst + (12 + c) * kWidth, _mm512_shuffle_f32x4(odd01, odd23, 0xdd));
  }
}

void transposePanel(const float* rows, int kc, float* P) {
  int k0 = 0;
  for (; k0 + 16 <= kc; k0 += 16) {
    for (int j0 = 0; j0 < kWidth; j0 += 16) transpose16(rows + j0 * kc + k0, kc, P + k0 * kWidth + j0);
  }
  for (; k0 < kc; ++k0) {
    for (int j = 0; j < kWidth; ++j) P[k0 * kWidth + j] = rows[j * kc + k0];
  }
}

#define FLOAT_LANES 16
#include "engine/cpu_kernels_float_rows.inc"

void rows(DType dtype, const float* X, size_t ldx, int n, const uint8_t* W, size_t rowBytes, int count, int cols,
          const float* bias, const float* xsum, float* Y, size_t ldy) {
  if (dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16) {
    floatRows(dtype, X, ldx, n, W, rowBytes, count, cols, bias, Y, ldy);
  } else {
    quantRowsAvx512(dtype, X, ldx, n, W, rowBytes, count, cols, bias, xsum, Y, ldy);
  }
}

}  // namespace

const Kernels* avx512(const Kernels& avx2) {
  static const Kernels k{"avx512", kWidth, &panel, &rows, avx2.scores, avx2.softmaxMix, avx2.expShifted,
                         &transposePanel, avx2.swiglu};
  return &k;
}

}  // namespace rb::cpu::isa
