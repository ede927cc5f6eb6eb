// AVX2 + FMA + F16C dot products of f32 token rows with GGUF block-quantized weight rows, read in
// place: each block's integers are unpacked to signed bytes, widened to f32 and multiplied with
// the token row in f32, and the block's scale is applied to the block's sum. So a dot product is
//   sum_b (d_b * sum_k x_k q_k) - sum_b (m_b * sum_k x_k),
// the exact value of sum_k x_k w_k for the format's dequantized w_k = d_b q_k - m_b, rounded in
// another order than dequantizing first (see cpu_kernels.h). The minimums' term uses the token
// row's precomputed block sums (XSums). Like cpu_kernels_avx2.cpp, this file is the only code
// built for these instruction sets and shares no inline function or template with other files.
#include <immintrin.h>

#include "engine/cpu_kernels_isa.h"

namespace rb::cpu::isa {
namespace {

float half(const uint8_t* p) { return _cvtsh_ss(static_cast<unsigned short>(p[0] | (p[1] << 8))); }

float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 h = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

__m256 widen8(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)); }

// sum over 16 values of x * q, q signed bytes.
__m256 dot16(const float* x, __m128i q) {
  const __m256 a = _mm256_mul_ps(widen8(q), _mm256_loadu_ps(x));
  return _mm256_fmadd_ps(widen8(_mm_srli_si128(q, 8)), _mm256_loadu_ps(x + 8), a);
}

// sum over 32 values of x * q, as 8 partial sums.
__m256 dot32(const float* x, __m256i q) {
  const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
  __m256 a = _mm256_mul_ps(widen8(lo), _mm256_loadu_ps(x));
  a = _mm256_fmadd_ps(widen8(_mm_srli_si128(lo, 8)), _mm256_loadu_ps(x + 8), a);
  a = _mm256_fmadd_ps(widen8(hi), _mm256_loadu_ps(x + 16), a);
  return _mm256_fmadd_ps(widen8(_mm_srli_si128(hi, 8)), _mm256_loadu_ps(x + 24), a);
}

__m256i nibbleMask() { return _mm256_set1_epi8(0x0F); }

// 16 bytes of packed nibbles -> 32 bytes: the low nibbles, then the high ones.
__m256i unpackNibbles16(const uint8_t* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
}

// Bit i of `bits` -> 0x10 in byte i where set, else 0.
__m256i fifthBits(uint32_t bits) {
  const __m256i shuffle = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3,
                                           3, 3, 3, 3, 3, 3, 3);
  const __m256i select = _mm256_set1_epi64x(0x8040201008040201LL);
  const __m256i v = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuffle), select);
  return _mm256_and_si256(_mm256_cmpeq_epi8(v, select), _mm256_set1_epi8(0x10));
}

// Byte-wise: `bit` (a single-bit mask) set in `v` -> `value`, else 0.
__m256i bitTo(__m256i v, int bit, char value) {
  const __m256i m = _mm256_set1_epi8(static_cast<char>(bit));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, m), m), _mm256_set1_epi8(value));
}

__m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

uint32_t u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// ---- 32-value blocks: one scale (and minimum) per block -----------------------------------------

float dotQ8_0(const float* x, const float*, const uint8_t* row, int blocks) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + 34 * b;
    acc[b & 1] = _mm256_fmadd_ps(_mm256_set1_ps(half(blk)), dot32(x + 32 * b, load32(blk + 2)), acc[b & 1]);
  }
  return hsum(_mm256_add_ps(acc[0], acc[1]));
}

float dotQ4_0(const float* x, const float*, const uint8_t* row, int blocks) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i eight = _mm256_set1_epi8(8);
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + 18 * b;
    const __m256i q = _mm256_sub_epi8(unpackNibbles16(blk + 2), eight);
    acc[b & 1] = _mm256_fmadd_ps(_mm256_set1_ps(half(blk)), dot32(x + 32 * b, q), acc[b & 1]);
  }
  return hsum(_mm256_add_ps(acc[0], acc[1]));
}

float dotQ4_1(const float* x, const float* sums32, const uint8_t* row, int blocks) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  float mins = 0;
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + 20 * b;
    acc[b & 1] = _mm256_fmadd_ps(_mm256_set1_ps(half(blk)), dot32(x + 32 * b, unpackNibbles16(blk + 4)), acc[b & 1]);
    mins += half(blk + 2) * sums32[b];
  }
  return hsum(_mm256_add_ps(acc[0], acc[1])) + mins;
}

float dotQ5_0(const float* x, const float*, const uint8_t* row, int blocks) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i sixteen = _mm256_set1_epi8(16);
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + 22 * b;
    const __m256i q = _mm256_sub_epi8(_mm256_or_si256(unpackNibbles16(blk + 6), fifthBits(u32(blk + 2))), sixteen);
    acc[b & 1] = _mm256_fmadd_ps(_mm256_set1_ps(half(blk)), dot32(x + 32 * b, q), acc[b & 1]);
  }
  return hsum(_mm256_add_ps(acc[0], acc[1]));
}

float dotQ5_1(const float* x, const float* sums32, const uint8_t* row, int blocks) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  float mins = 0;
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + 24 * b;
    const __m256i q = _mm256_or_si256(unpackNibbles16(blk + 8), fifthBits(u32(blk + 4)));
    acc[b & 1] = _mm256_fmadd_ps(_mm256_set1_ps(half(blk)), dot32(x + 32 * b, q), acc[b & 1]);
    mins += half(blk + 2) * sums32[b];
  }
  return hsum(_mm256_add_ps(acc[0], acc[1])) + mins;
}

// ---- 256-value super-blocks (K-quants); layouts as in dtype.cpp ---------------------------------

// Q2_K: 16 sub-blocks of 16; each 32-byte group (half h, shift s) holds sub-blocks 8h + 2s, +1.
float dotQ2_K(const float* x, const float* sums16, const uint8_t* row, int blocks) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  __m256 minAcc = _mm256_setzero_ps();
  const __m256i three = _mm256_set1_epi8(3);
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + 84 * b;
    const float* xb = x + 256 * b;
    const float d = half(blk + 80), dmin = half(blk + 82);
    const __m128i scales = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk));
    const __m128i mins = _mm_srli_epi16(_mm_andnot_si128(_mm_set1_epi8(0x0F), scales), 4);
    const __m256 dmins = _mm256_set1_ps(dmin);
    minAcc = _mm256_fmadd_ps(_mm256_mul_ps(dmins, widen8(mins)), _mm256_loadu_ps(sums16 + 16 * b), minAcc);
    minAcc = _mm256_fmadd_ps(_mm256_mul_ps(dmins, widen8(_mm_srli_si128(mins, 8))), _mm256_loadu_ps(sums16 + 16 * b + 8), minAcc);
    for (int h = 0; h < 2; ++h) {
      const __m256i packed = load32(blk + 16 + 32 * h);
      for (int s = 0; s < 4; ++s) {
        const __m256i q = _mm256_and_si256(_mm256_srli_epi16(packed, 2 * s), three);
        const int sub = 8 * h + 2 * s;
        const float* xs = xb + 16 * sub;
        acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(d * static_cast<float>(blk[sub] & 0x0F)), dot16(xs, _mm256_castsi256_si128(q)), acc[0]);
        acc[1] = _mm256_fmadd_ps(_mm256_set1_ps(d * static_cast<float>(blk[sub + 1] & 0x0F)),
                                 dot16(xs + 16, _mm256_extracti128_si256(q, 1)), acc[1]);
      }
    }
  }
  return hsum(_mm256_add_ps(acc[0], acc[1])) - hsum(minAcc);
}

float dotQ3_K(const float* x, const float*, const uint8_t* row, int blocks) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + 110 * b;
    const float* xb = x + 256 * b;
    const uint8_t* sc = blk + 96;
    const float d = half(blk + 108);
    float dl[16];
    for (int i = 0; i < 16; ++i) {
      const int low = i < 8 ? sc[i] & 0x0F : sc[i - 8] >> 4;
      const int high = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
      dl[i] = d * static_cast<float>((low | high << 4) - 32);
    }
    const __m256i hmask = load32(blk);
    for (int h = 0; h < 2; ++h) {
      const __m256i packed = load32(blk + 32 + 32 * h);
      for (int s = 0; s < 4; ++s) {
        const __m256i low = _mm256_and_si256(_mm256_srli_epi16(packed, 2 * s), three);
        const __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, bitTo(hmask, 1 << (4 * h + s), 4)), four);
        const int sub = 8 * h + 2 * s;
        const float* xs = xb + 16 * sub;
        acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(dl[sub]), dot16(xs, _mm256_castsi256_si128(q)), acc[0]);
        acc[1] = _mm256_fmadd_ps(_mm256_set1_ps(dl[sub + 1]), dot16(xs + 16, _mm256_extracti128_si256(q, 1)), acc[1]);
      }
    }
  }
  return hsum(_mm256_add_ps(acc[0], acc[1]));
}

void kScaleMin(const uint8_t* s, uint8_t* sc, uint8_t* mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    mn[j] = s[j + 4] & 63;
    sc[j + 4] = static_cast<uint8_t>((s[j + 8] & 0x0F) | ((s[j] >> 2) & 0x30));
    mn[j + 4] = static_cast<uint8_t>((s[j + 8] >> 4) | ((s[j + 4] >> 2) & 0x30));
  }
}

// Q4_K and Q5_K: eight sub-blocks of 32; byte group j holds sub-block 2j in its low nibbles and
// 2j + 1 in its high ones. Q5_K's fifth bit of sub-block s is bit s of qh.
template <bool kFifthBit>
float dotQK(const float* x, const float* sums32, const uint8_t* row, int blocks) {
  constexpr int kBytes = kFifthBit ? 176 : 144;
  constexpr int kQs = kFifthBit ? 48 : 16;
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  __m256 minAcc = _mm256_setzero_ps();
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + kBytes * b;
    const float* xb = x + 256 * b;
    const float d = half(blk), dmin = half(blk + 2);
    alignas(16) uint8_t sc[16], mn[16];
    kScaleMin(blk + 4, sc, mn);
    minAcc = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(mn))))),
                             _mm256_loadu_ps(sums32 + 8 * b), minAcc);
    const __m256i qh = kFifthBit ? load32(blk + 16) : _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i packed = load32(blk + kQs + 32 * j);
      __m256i lo = _mm256_and_si256(packed, nibbleMask());
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibbleMask());
      if (kFifthBit) {
        lo = _mm256_or_si256(lo, bitTo(qh, 1 << (2 * j), 0x10));
        hi = _mm256_or_si256(hi, bitTo(qh, 1 << (2 * j + 1), 0x10));
      }
      acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(d * static_cast<float>(sc[2 * j])), dot32(xb + 64 * j, lo), acc[0]);
      acc[1] = _mm256_fmadd_ps(_mm256_set1_ps(d * static_cast<float>(sc[2 * j + 1])), dot32(xb + 64 * j + 32, hi), acc[1]);
    }
  }
  return hsum(_mm256_add_ps(acc[0], acc[1])) - hsum(minAcc);
}

// Q6_K: per half h, low nibbles in bytes A = ql[64h..+32) and B = ql[64h+32..+32), high pairs in
// Q = qh[32h..+32): values 128h + 32g + l are (A|B nibble) | (Q >> 2g & 3) << 4, minus 32.
float dotQ6_K(const float* x, const float*, const uint8_t* row, int blocks) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i three = _mm256_set1_epi8(3), offset = _mm256_set1_epi8(32);
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* blk = row + 210 * b;
    const float* xb = x + 256 * b;
    const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
    const float d = half(blk + 208);
    for (int h = 0; h < 2; ++h) {
      const __m256i a = load32(blk + 64 * h), bb = load32(blk + 64 * h + 32), q = load32(blk + 128 + 32 * h);
      const __m256i lows[4] = {_mm256_and_si256(a, nibbleMask()), _mm256_and_si256(bb, nibbleMask()),
                               _mm256_and_si256(_mm256_srli_epi16(a, 4), nibbleMask()),
                               _mm256_and_si256(_mm256_srli_epi16(bb, 4), nibbleMask())};
      for (int g = 0; g < 4; ++g) {
        const __m256i high = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 2 * g), three), 4);
        const __m256i v = _mm256_sub_epi8(_mm256_or_si256(lows[g], high), offset);
        const int sub = 8 * h + 2 * g;
        const float* xs = xb + 16 * sub;
        acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(d * static_cast<float>(sc[sub])), dot16(xs, _mm256_castsi256_si128(v)), acc[0]);
        acc[1] = _mm256_fmadd_ps(_mm256_set1_ps(d * static_cast<float>(sc[sub + 1])), dot16(xs + 16, _mm256_extracti128_si256(v, 1)), acc[1]);
      }
    }
  }
  return hsum(_mm256_add_ps(acc[0], acc[1]));
}

using DotFn = float (*)(const float* x, const float* sums, const uint8_t* row, int blocks);

}  // namespace

void quantRowsAvx2(DType dtype, const float* X, size_t ldx, int n, const uint8_t* W, size_t rowBytes, int rows,
                   int cols, const float* bias, const float* xsum, float* Y, size_t ldy) {
  DotFn dot = nullptr;
  int blockValues = 32;
  bool bySixteen = false;  // the minimums' term uses the sums over 16 values, else over 32
  switch (dtype) {
    case DType::Q8_0: dot = dotQ8_0; break;
    case DType::Q4_0: dot = dotQ4_0; break;
    case DType::Q4_1: dot = dotQ4_1; break;
    case DType::Q5_0: dot = dotQ5_0; break;
    case DType::Q5_1: dot = dotQ5_1; break;
    case DType::Q2_K: dot = dotQ2_K, blockValues = 256, bySixteen = true; break;
    case DType::Q3_K: dot = dotQ3_K, blockValues = 256; break;
    case DType::Q4_K: dot = dotQK<false>, blockValues = 256; break;
    case DType::Q5_K: dot = dotQK<true>, blockValues = 256; break;
    case DType::Q6_K: dot = dotQ6_K, blockValues = 256; break;
    default: return;
  }
  const int blocks = cols / blockValues;
  const size_t stride = static_cast<size_t>(XSums::stride(cols));
  for (int t = 0; t < n; ++t) {
    const float* x = X + t * ldx;
    const float* sums = xsum ? xsum + t * stride + (bySixteen ? 0 : cols / 16) : nullptr;
    float* y = Y + t * ldy;
    for (int r = 0; r < rows; ++r) y[r] = (bias ? bias[r] : 0.0f) + dot(x, sums, W + r * rowBytes, blocks);
  }
}

}  // namespace rb::cpu::isa
