// AVX2 + FMA + F16C kernels. Only this file is compiled with those instruction sets, and it is
// only called after the CPU was checked for them. It uses no standard-library templates or
// inline functions: a copy of one compiled here with AVX2 could be the one the linker keeps for
// the whole library, and would then crash a CPU without it.
#include <immintrin.h>

#include "engine/cpu_kernels_isa.h"

namespace rb::cpu::isa {
namespace {

// MR token rows x one f32 panel (two 8-wide registers per row). With few rows, the k loop is
// split into KU interleaved partial sums so enough independent FMA chains are in flight; MR * KU
// * 2 accumulators stay within the 16 registers.
template <int MR>
void tile(const float* X, size_t ldx, const float* P, int kc, const float* bias, bool accumulate, float* Y,
          size_t ldy, int cols) {
  constexpr int KU = MR == 1 ? 4 : MR == 2 ? 2 : 1;
  __m256 acc[KU][MR][2];
#pragma GCC unroll 16
  for (int u = 0; u < KU; ++u) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) acc[u][r][0] = acc[u][r][1] = _mm256_setzero_ps();
  }
  int k = 0;
  for (; k + KU <= kc; k += KU) {
#pragma GCC unroll 16
    for (int u = 0; u < KU; ++u) {
      const float* w = P + (k + u) * kPanel;
      const __m256 w0 = _mm256_load_ps(w);
      const __m256 w1 = _mm256_load_ps(w + 8);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const __m256 x = _mm256_broadcast_ss(X + r * ldx + k + u);
        acc[u][r][0] = _mm256_fmadd_ps(x, w0, acc[u][r][0]);
        acc[u][r][1] = _mm256_fmadd_ps(x, w1, acc[u][r][1]);
      }
    }
  }
  for (; k < kc; ++k) {
    const __m256 w0 = _mm256_load_ps(P + k * kPanel);
    const __m256 w1 = _mm256_load_ps(P + k * kPanel + 8);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m256 x = _mm256_broadcast_ss(X + r * ldx + k);
      acc[0][r][0] = _mm256_fmadd_ps(x, w0, acc[0][r][0]);
      acc[0][r][1] = _mm256_fmadd_ps(x, w1, acc[0][r][1]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    __m256 s0 = acc[0][r][0], s1 = acc[0][r][1];
#pragma GCC unroll 16
    for (int u = 1; u < KU; ++u) {
      s0 = _mm256_add_ps(s0, acc[u][r][0]);
      s1 = _mm256_add_ps(s1, acc[u][r][1]);
    }
    float* y = Y + r * ldy;
    if (cols == kPanel) {
      const __m256 b0 = accumulate ? _mm256_loadu_ps(y) : bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
      const __m256 b1 = accumulate ? _mm256_loadu_ps(y + 8) : bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
      _mm256_storeu_ps(y, _mm256_add_ps(b0, s0));
      _mm256_storeu_ps(y + 8, _mm256_add_ps(b1, s1));
    } else {
      alignas(32) float sums[kPanel];
      _mm256_store_ps(sums, s0);
      _mm256_store_ps(sums + 8, s1);
      for (int j = 0; j < cols; ++j) y[j] = (accumulate ? y[j] : bias ? bias[j] : 0.0f) + sums[j];
    }
  }
}

float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 h = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

#define FLOAT_LANES 8
#include "engine/cpu_kernels_float_rows.inc"

void rowsKernel(DType dtype, const float* X, size_t ldx, int n, const uint8_t* W, size_t rowBytes, int rows, int cols,
                const float* bias, const float* xsum, float* Y, size_t ldy) {
  if (dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16) {
    floatRows(dtype, X, ldx, n, W, rowBytes, rows, cols, bias, Y, ldy);
  } else {
    quantRowsAvx2(dtype, X, ldx, n, W, rowBytes, rows, cols, bias, xsum, Y, ldy);
  }
}

void panel(const float* X, size_t ldx, int n, const float* P, int kc, const float* bias, bool accumulate, float* Y,
           size_t ldy, int cols) {
  constexpr int MR = 6;
  int t = 0;
  for (; t + MR <= n; t += MR) tile<MR>(X + t * ldx, ldx, P, kc, bias, accumulate, Y + t * ldy, ldy, cols);
  const float* x = X + t * ldx;
  float* y = Y + t * ldy;
  switch (n - t) {
    case 1: tile<1>(x, ldx, P, kc, bias, accumulate, y, ldy, cols); break;
    case 2: tile<2>(x, ldx, P, kc, bias, accumulate, y, ldy, cols); break;
    case 3: tile<3>(x, ldx, P, kc, bias, accumulate, y, ldy, cols); break;
    case 4: tile<4>(x, ldx, P, kc, bias, accumulate, y, ldy, cols); break;
    case 5: tile<5>(x, ldx, P, kc, bias, accumulate, y, ldy, cols); break;
    default: break;
  }
}

void scores(const float* q, const float* K, size_t stride, int count, int D, float scale, float* out) {
  int i = 0;
  // Four positions at a time: four independent chains, q loaded once for all.
  for (; i + 4 <= count; i += 4) {
    const float* k = K + i * stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int d = 0;
    for (; d + 8 <= D; d += 8) {
      const __m256 qv = _mm256_loadu_ps(q + d);
      a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + d), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + stride + d), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + 2 * stride + d), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + 3 * stride + d), a3);
    }
    float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (; d < D; ++d) {
      s0 += q[d] * k[d];
      s1 += q[d] * k[stride + d];
      s2 += q[d] * k[2 * stride + d];
      s3 += q[d] * k[3 * stride + d];
    }
    out[i] = s0 * scale;
    out[i + 1] = s1 * scale;
    out[i + 2] = s2 * scale;
    out[i + 3] = s3 * scale;
  }
  for (; i < count; ++i) {
    const float* k = K + i * stride;
    __m256 a = _mm256_setzero_ps();
    int d = 0;
    for (; d + 8 <= D; d += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + d), a);
    float r = hsum(a);
    for (; d < D; ++d) r += q[d] * k[d];
    out[i] = r * scale;
  }
}

// e^x to about 1 ulp (Cephes' expf: x = n ln2 + r, a degree-7 polynomial for e^r, 2^n from the
// exponent bits). x is clamped to [-87.3, 88.4]: below, the result is the smallest normal float
// instead of 0, which neither a softmax sum of at least 1 nor silu's 1 + e^-g can tell apart;
// above, the largest finite power, so silu of a very negative g is a tiny negative, not NaN.
__m256 exp8(__m256 x) {
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.3365447504f));
  const __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i pow2n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(pow2n));
}

float expShifted(float* s, int count) {
  __m256 vmax = _mm256_set1_ps(-3.0e38f);
  int i = 0;
  for (; i + 8 <= count; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(s + i));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  float maxScore = lanes[0];
  for (int l = 1; l < 8; ++l) maxScore = lanes[l] > maxScore ? lanes[l] : maxScore;
  for (; i < count; ++i) maxScore = s[i] > maxScore ? s[i] : maxScore;
  const __m256 m = _mm256_set1_ps(maxScore);
  __m256 vsum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= count; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + i), m));
    _mm256_storeu_ps(s + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = hsum(vsum);
  if (i < count) {
    // The tail goes through the same vector exp, padded with values whose e^x adds nothing.
    for (int l = 0; l < 8; ++l) lanes[l] = i + l < count ? s[i + l] - maxScore : -100.0f;
    _mm256_store_ps(lanes, exp8(_mm256_load_ps(lanes)));
    for (int l = 0; i + l < count; ++l) {
      s[i + l] = lanes[l];
      sum += lanes[l];
    }
  }
  return sum;
}

void softmaxMix(float* s, int count, const float* V, size_t stride, int D, float* out) {
  const float sum = expShifted(s, count);
  int d = 0;
  for (; d + 8 <= D; d += 8) _mm256_storeu_ps(out + d, _mm256_setzero_ps());
  for (; d < D; ++d) out[d] = 0.0f;
  for (int i = 0; i < count; ++i) {
    const float p = s[i] / sum;
    const __m256 vp = _mm256_set1_ps(p);
    const float* v = V + i * stride;
    for (d = 0; d + 8 <= D; d += 8) _mm256_storeu_ps(out + d, _mm256_fmadd_ps(vp, _mm256_loadu_ps(v + d), _mm256_loadu_ps(out + d)));
    for (; d < D; ++d) out[d] += p * v[d];
  }
}

void swiglu(float* gate, const float* up, size_t n) {
  size_t i = 0;
  const __m256 one = _mm256_set1_ps(1.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  if (i < n) {
    alignas(32) float lanes[8];
    for (size_t l = 0; l < 8; ++l) lanes[l] = i + l < n ? -gate[i + l] : 0.0f;
    _mm256_store_ps(lanes, exp8(_mm256_load_ps(lanes)));
    for (size_t l = 0; i + l < n; ++l) gate[i + l] = gate[i + l] / (1.0f + lanes[l]) * up[i + l];
  }
}

const Kernels kAvx2{"avx2", kPanel, &panel, &rowsKernel, &scores, &softmaxMix, &expShifted, nullptr, &swiglu};

}  // namespace

const Kernels* avx2() { return &kAvx2; }

}  // namespace rb::cpu::isa
