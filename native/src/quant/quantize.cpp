#include "quant/quantize.h"

#include "engine/finite.h"
#include "engine/worker_pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace rb::quant {
namespace {

// ---- half-precision encodings (round to nearest, ties to even) -----------------------------------

uint16_t toF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7fffffffu;
  if (absx > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504: infinity
  if (absx < 0x38800000u) {
    // Subnormal in f16 (or zero): the value in units of 2^-24, rounded to nearest even.
    if (absx < 0x33000000u) return static_cast<uint16_t>(sign);
    const int shift = 126 - static_cast<int>(absx >> 23);  // 14..24
    const uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
    const uint32_t q = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    const uint32_t rounded = q + ((rest > halfway || (rest == halfway && (q & 1))) ? 1 : 0);
    return static_cast<uint16_t>(sign | rounded);
  }
  const uint32_t e = (absx >> 23) - 112;  // rebias 127 -> 15
  uint32_t h = (e << 10) | ((absx >> 13) & 0x3ffu);
  const uint32_t rest = absx & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) ++h;  // may carry into the exponent: still right
  return static_cast<uint16_t>(sign | h);
}

uint16_t toBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

float halfValue(float f) {
  // The value an f16-stored scale will have when read back.
  const uint16_t h = toF16(f);
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

void putHalf(uint8_t* p, float f) {
  const uint16_t h = toF16(f);
  p[0] = static_cast<uint8_t>(h & 0xff);
  p[1] = static_cast<uint8_t>(h >> 8);
}

// Saturates well inside int's range (every caller clamps to a few levels): casting a value past
// it, or NaN, to int is undefined behaviour.
int roundInt(float x) {
  const float r = std::nearbyint(x);
  if (std::fabs(r) < 16777216.0f) return static_cast<int>(r);
  return r > 0 ? 16777216 : r < 0 ? -16777216 : 0;
}
int clampInt(int v, int lo, int hi) { return std::min(hi, std::max(lo, v)); }

// ---- scale searches --------------------------------------------------------------------------

// x ~= scale * q - min with q in [0, nmax], scale >= 0, min >= 0 (the K-quants' sub-blocks):
// a few candidate grids over [min(x, 0), max(x)], each refined by least squares for its q.
struct Affine {
  float scale = 0;
  float min = 0;
};

Affine fitAffine(const float* x, int n, int nmax) {
  float lo = 0, hi = x[0];
  for (int i = 0; i < n; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  if (!(hi > lo)) return {0.0f, -lo};
  Affine best;
  double bestErr = INFINITY;
  for (int step = -3; step <= 3; ++step) {
    const float iscale = (static_cast<float>(nmax) + 0.15f * static_cast<float>(step)) / (hi - lo);
    double sq = 0, sqq = 0, sx = 0, sqx = 0;
    int q[256];
    for (int i = 0; i < n; ++i) {
      q[i] = clampInt(roundInt(iscale * (x[i] - lo)), 0, nmax);
      sq += q[i], sqq += static_cast<double>(q[i]) * q[i], sx += x[i], sqx += q[i] * static_cast<double>(x[i]);
    }
    const double det = n * sqq - sq * sq;
    double a, b;
    if (det > 0) {
      a = (n * sqx - sq * sx) / det;
      b = (sqq * sx - sq * sqx) / det;
    } else {
      a = 0, b = sx / n;
    }
    if (b > 0) b = 0, a = sqq > 0 ? sqx / sqq : 0;
    if (a < 0) continue;
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const double d = a * q[i] + b - x[i];
      err += d * d;
    }
    if (err < bestErr) bestErr = err, best = {static_cast<float>(a), static_cast<float>(-b)};
  }
  return best;
}

// x ~= scale * q with q in [qmin, qmax] (qmin = -qmax - 1), scale of either sign: the value of
// largest magnitude goes to the side with one level more, then least squares refines it.
float fitSymmetric(const float* x, int n, int qmax) {
  const int qmin = -qmax - 1;
  float peak = 0;
  for (int i = 0; i < n; ++i) if (std::fabs(x[i]) > std::fabs(peak)) peak = x[i];
  if (peak == 0) return 0;
  float best = peak / static_cast<float>(qmin);
  double bestErr = INFINITY;
  for (int step = -3; step <= 3; ++step) {
    const float iscale = (static_cast<float>(qmin) + 0.15f * static_cast<float>(step)) / peak;
    double sqq = 0, sqx = 0;
    int q[256];
    for (int i = 0; i < n; ++i) {
      q[i] = clampInt(roundInt(iscale * x[i]), qmin, qmax);
      sqq += static_cast<double>(q[i]) * q[i], sqx += q[i] * static_cast<double>(x[i]);
    }
    if (sqq == 0) continue;
    const double a = sqx / sqq;
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const double d = a * q[i] - x[i];
      err += d * d;
    }
    if (err < bestErr) bestErr = err, best = static_cast<float>(a);
  }
  return best;
}

// ---- 32-value blocks --------------------------------------------------------------------------

void q8_0(const float* x, uint8_t* b) {
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = halfValue(amax / 127.0f);
  putHalf(b, amax / 127.0f);
  for (int i = 0; i < 32; ++i) b[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(d ? clampInt(roundInt(x[i] / d), -128, 127) : 0));
}

// Q4_0/Q5_0: d = (value of largest magnitude) / -2^(bits-1); q = x / d + 2^(bits-1).
void symmetricSmall(const float* x, int bits, float& d, int* q) {
  float peak = 0;
  for (int i = 0; i < 32; ++i) if (std::fabs(x[i]) > std::fabs(peak)) peak = x[i];
  const int half = 1 << (bits - 1);
  d = halfValue(peak / static_cast<float>(-half));
  for (int i = 0; i < 32; ++i) q[i] = d ? clampInt(roundInt(x[i] / d) + half, 0, 2 * half - 1) : half;
}

void affineSmall(const float* x, int nmax, float& d, float& m, int* q) {
  float lo = x[0], hi = x[0];
  for (int i = 0; i < 32; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  d = halfValue((hi - lo) / static_cast<float>(nmax));
  m = halfValue(lo);
  for (int i = 0; i < 32; ++i) q[i] = d ? clampInt(roundInt((x[i] - m) / d), 0, nmax) : 0;
}

void packNibbles16(const int* q, uint8_t* out) {
  for (int i = 0; i < 16; ++i) out[i] = static_cast<uint8_t>((q[i] & 0x0F) | (q[i + 16] & 0x0F) << 4);
}

void packFifthBits(const int* q, uint8_t* out) {
  uint32_t qh = 0;
  for (int i = 0; i < 32; ++i) qh |= static_cast<uint32_t>((q[i] >> 4) & 1) << i;
  for (int k = 0; k < 4; ++k) out[k] = static_cast<uint8_t>(qh >> (8 * k));
}

void q4_0(const float* x, uint8_t* b) {
  float d;
  int q[32];
  symmetricSmall(x, 4, d, q);
  putHalf(b, d);
  packNibbles16(q, b + 2);
}

void q4_1(const float* x, uint8_t* b) {
  float d, m;
  int q[32];
  affineSmall(x, 15, d, m, q);
  putHalf(b, d);
  putHalf(b + 2, m);
  packNibbles16(q, b + 4);
}

void q5_0(const float* x, uint8_t* b) {
  float d;
  int q[32];
  symmetricSmall(x, 5, d, q);
  putHalf(b, d);
  packFifthBits(q, b + 2);
  packNibbles16(q, b + 6);
}

void q5_1(const float* x, uint8_t* b) {
  float d, m;
  int q[32];
  affineSmall(x, 31, d, m, q);
  putHalf(b, d);
  putHalf(b + 2, m);
  packFifthBits(q, b + 4);
  packNibbles16(q, b + 8);
}

// ---- K-quant super-blocks of 256 ---------------------------------------------------------------

// Sub-block fits, then the sub-blocks' scales and minimums quantized to `scaleLevels` levels
// against the super-block's d and dmin; the values are requantized with the stored scales.
void affineSuper(const float* x, int sub, int nmax, int scaleLevels, float& d, float& dmin, int* sc, int* mn, int* q) {
  const int count = 256 / sub;
  Affine fits[16];
  float maxScale = 0, maxMin = 0;
  for (int s = 0; s < count; ++s) {
    fits[s] = fitAffine(x + s * sub, sub, nmax);
    maxScale = std::max(maxScale, fits[s].scale);
    maxMin = std::max(maxMin, fits[s].min);
  }
  d = halfValue(maxScale / static_cast<float>(scaleLevels));
  dmin = halfValue(maxMin / static_cast<float>(scaleLevels));
  for (int s = 0; s < count; ++s) {
    sc[s] = d ? clampInt(roundInt(fits[s].scale / d), 0, scaleLevels) : 0;
    mn[s] = dmin ? clampInt(roundInt(fits[s].min / dmin), 0, scaleLevels) : 0;
    const float dl = d * static_cast<float>(sc[s]), ml = dmin * static_cast<float>(mn[s]);
    for (int i = 0; i < sub; ++i) q[s * sub + i] = dl ? clampInt(roundInt((x[s * sub + i] + ml) / dl), 0, nmax) : 0;
  }
}

void symmetricSuper(const float* x, int qmax, int scaleMax, float& d, int* sc, int* q) {
  float fits[16], peak = 0;
  for (int s = 0; s < 16; ++s) {
    fits[s] = fitSymmetric(x + 16 * s, 16, qmax);
    peak = std::max(peak, std::fabs(fits[s]));
  }
  d = halfValue(peak / static_cast<float>(scaleMax));
  for (int s = 0; s < 16; ++s) {
    sc[s] = d ? clampInt(roundInt(fits[s] / d), -scaleMax - 1, scaleMax) : 0;
    const float dl = d * static_cast<float>(sc[s]);
    for (int i = 0; i < 16; ++i) q[16 * s + i] = dl ? clampInt(roundInt(x[16 * s + i] / dl), -qmax - 1, qmax) : 0;
  }
}

void q2_k(const float* x, uint8_t* b) {
  float d, dmin;
  int sc[16], mn[16], q[256];
  affineSuper(x, 16, 3, 15, d, dmin, sc, mn, q);
  for (int s = 0; s < 16; ++s) b[s] = static_cast<uint8_t>(sc[s] | mn[s] << 4);
  uint8_t* qs = b + 16;
  std::memset(qs, 0, 64);
  for (int e = 0; e < 256; ++e) qs[32 * (e / 128) + e % 32] |= static_cast<uint8_t>(q[e] << (2 * ((e / 32) % 4)));
  putHalf(b + 80, d);
  putHalf(b + 82, dmin);
}

void q3_k(const float* x, uint8_t* b) {
  float d;
  int sc[16], q[256];
  symmetricSuper(x, 3, 31, d, sc, q);
  uint8_t* hmask = b;
  uint8_t* qs = b + 32;
  uint8_t* scales = b + 96;
  std::memset(b, 0, 108);
  for (int e = 0; e < 256; ++e) {
    const int v = q[e] + 4;  // 0..7: low two bits, and the high bit (set for values >= 0)
    qs[32 * (e / 128) + e % 32] |= static_cast<uint8_t>((v & 3) << (2 * ((e / 32) % 4)));
    if (v & 4) hmask[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
  }
  for (int i = 0; i < 16; ++i) {
    const int v = sc[i] + 32;
    if (i < 8) scales[i] |= static_cast<uint8_t>(v & 0x0F);
    else scales[i - 8] |= static_cast<uint8_t>((v & 0x0F) << 4);
    scales[8 + i % 4] |= static_cast<uint8_t>(((v >> 4) & 3) << (2 * (i / 4)));
  }
  putHalf(b + 108, d);
}

void packKScales(const int* sc, const int* mn, uint8_t* s) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4));
  }
}

void q4_k(const float* x, uint8_t* b) {
  float d, dmin;
  int sc[8], mn[8], q[256];
  affineSuper(x, 32, 15, 63, d, dmin, sc, mn, q);
  putHalf(b, d);
  putHalf(b + 2, dmin);
  packKScales(sc, mn, b + 4);
  for (int j = 0; j < 4; ++j) {
    for (int l = 0; l < 32; ++l) b[16 + 32 * j + l] = static_cast<uint8_t>(q[64 * j + l] | q[64 * j + 32 + l] << 4);
  }
}

void q5_k(const float* x, uint8_t* b) {
  float d, dmin;
  int sc[8], mn[8], q[256];
  affineSuper(x, 32, 31, 63, d, dmin, sc, mn, q);
  putHalf(b, d);
  putHalf(b + 2, dmin);
  packKScales(sc, mn, b + 4);
  uint8_t* qh = b + 16;
  std::memset(qh, 0, 32);
  for (int e = 0; e < 256; ++e) qh[e % 32] |= static_cast<uint8_t>(((q[e] >> 4) & 1) << (e / 32));
  for (int j = 0; j < 4; ++j) {
    for (int l = 0; l < 32; ++l) {
      b[48 + 32 * j + l] = static_cast<uint8_t>((q[64 * j + l] & 0x0F) | (q[64 * j + 32 + l] & 0x0F) << 4);
    }
  }
}

void q6_k(const float* x, uint8_t* b) {
  float d;
  int sc[16], q[256];
  symmetricSuper(x, 31, 127, d, sc, q);
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  std::memset(b, 0, 192);
  for (int e = 0; e < 256; ++e) {
    const int v = q[e] + 32;  // 0..63
    const int h = e / 128, r = e % 128;
    ql[64 * h + r % 64] |= static_cast<uint8_t>((v & 0x0F) << (4 * (r / 64)));
    qh[32 * h + r % 32] |= static_cast<uint8_t>(((v >> 4) & 3) << (2 * (r / 32)));
  }
  for (int s = 0; s < 16; ++s) b[192 + s] = static_cast<uint8_t>(static_cast<int8_t>(sc[s]));
  putHalf(b + 208, d);
}

using BlockFn = void (*)(const float*, uint8_t*);

BlockFn blockFn(DType t) {
  switch (t) {
    case DType::Q8_0: return q8_0;
    case DType::Q4_0: return q4_0;
    case DType::Q4_1: return q4_1;
    case DType::Q5_0: return q5_0;
    case DType::Q5_1: return q5_1;
    case DType::Q2_K: return q2_k;
    case DType::Q3_K: return q3_k;
    case DType::Q4_K: return q4_k;
    case DType::Q5_K: return q5_k;
    case DType::Q6_K: return q6_k;
    default: return nullptr;
  }
}

}  // namespace

void quantizeRows(DType dtype, const float* values, int64_t rows, int64_t cols, uint8_t* out) {
  const size_t rowBytes = static_cast<size_t>(storageBytes(dtype, cols));  // throws for partial blocks
  const int64_t n = rows * cols;
  switch (dtype) {
    case DType::F32:
      std::memcpy(out, values, static_cast<size_t>(n) * 4);
      return;
    case DType::F16:
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = dtype == DType::F16 ? toF16(values[i]) : toBf16(values[i]);
        out[2 * i] = static_cast<uint8_t>(h & 0xff);
        out[2 * i + 1] = static_cast<uint8_t>(h >> 8);
      }
      return;
    default: {
      const BlockFn fn = blockFn(dtype);
      const int elems = blockElems(dtype), bytes = blockBytes(dtype);
      const int64_t blocks = cols / elems;
      // A block format has no NaN or Inf: quantized, they would become finite, wrong weights.
      for (int64_t r = 0; r < rows; ++r) {
        if (!allFinite(values + r * cols, static_cast<size_t>(cols))) {
          throw std::invalid_argument(std::string("holds NaN or Inf, which ") + dtypeName(dtype) + " cannot store");
        }
      }
      if (rows > std::numeric_limits<int>::max()) throw std::invalid_argument("more rows than one call can quantize");
      parallelFor(static_cast<int>(rows), 16, [&](int first, int end) {
        for (int64_t r = first; r < end; ++r) {
          for (int64_t b = 0; b < blocks; ++b) fn(values + r * cols + b * elems, out + static_cast<size_t>(r) * rowBytes + b * bytes);
        }
      });
    }
  }
}

}  // namespace rb::quant
