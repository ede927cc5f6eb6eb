#include "engine/dtype.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace rb {
namespace {

struct Format {
  const char* name;
  int blockElems;
  int blockBytes;
};

// Block layouts as ggml defines them (QK_K = 256 values per K-quant super-block).
const Format& format(DType t) {
  static const Format kFormats[] = {
      {"F32", 1, 4},     {"F16", 1, 2},     {"BF16", 1, 2},     {"Q8_0", 32, 34},  {"Q4_0", 32, 18},
      {"Q4_1", 32, 20},  {"Q5_0", 32, 22},  {"Q5_1", 32, 24},   {"Q2_K", 256, 84}, {"Q3_K", 256, 110},
      {"Q4_K", 256, 144}, {"Q5_K", 256, 176}, {"Q6_K", 256, 210},
  };
  const auto i = static_cast<size_t>(t);
  if (i >= sizeof(kFormats) / sizeof(kFormats[0])) throw std::invalid_argument("unknown dtype");
  return kFormats[i];
}

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) { return u16(p) | static_cast<uint32_t>(u16(p + 2)) << 16; }
float half(const uint8_t* p) { return f16ToF32(u16(p)); }

// Each function below writes one block's values in order. The arithmetic is the format's
// definition, operation by operation in float32 (the scale products first, as gguf-py and
// transformers' GGUF loader compute them), so the values are bit-identical to theirs. This file
// is built with -ffp-contract=off so the compiler cannot fuse them into other roundings.

void q8_0(const uint8_t* b, float* y) {
  const float d = half(b);
  for (int i = 0; i < 32; ++i) y[i] = static_cast<float>(static_cast<int8_t>(b[2 + i])) * d;
}

// Q4_0/Q4_1: value i < 16 is the low nibble of byte i, value 16 + i its high nibble.
void q4_0(const uint8_t* b, float* y) {
  const float d = half(b);
  for (int i = 0; i < 16; ++i) {
    y[i] = d * static_cast<float>((b[2 + i] & 0x0F) - 8);
    y[i + 16] = d * static_cast<float>((b[2 + i] >> 4) - 8);
  }
}

void q4_1(const uint8_t* b, float* y) {
  const float d = half(b), m = half(b + 2);
  for (int i = 0; i < 16; ++i) {
    y[i] = d * static_cast<float>(b[4 + i] & 0x0F) + m;
    y[i + 16] = d * static_cast<float>(b[4 + i] >> 4) + m;
  }
}

// Q5_0/Q5_1: the fifth bit of value i is bit i of the 32-bit qh.
void q5_0(const uint8_t* b, float* y) {
  const float d = half(b);
  const uint32_t qh = u32(b + 2);
  const uint8_t* qs = b + 6;
  for (int i = 0; i < 16; ++i) {
    const int lo = (qs[i] & 0x0F) | static_cast<int>((qh >> i) & 1) << 4;
    const int hi = (qs[i] >> 4) | static_cast<int>((qh >> (i + 16)) & 1) << 4;
    y[i] = d * static_cast<float>(lo - 16);
    y[i + 16] = d * static_cast<float>(hi - 16);
  }
}

void q5_1(const uint8_t* b, float* y) {
  const float d = half(b), m = half(b + 2);
  const uint32_t qh = u32(b + 4);
  const uint8_t* qs = b + 8;
  for (int i = 0; i < 16; ++i) {
    const int lo = (qs[i] & 0x0F) | static_cast<int>((qh >> i) & 1) << 4;
    const int hi = (qs[i] >> 4) | static_cast<int>((qh >> (i + 16)) & 1) << 4;
    y[i] = d * static_cast<float>(lo) + m;
    y[i + 16] = d * static_cast<float>(hi) + m;
  }
}

// Q2_K: 16 scales (low nibble: scale, high nibble: min), 64 bytes of 2-bit values, d, dmin.
// Value e = 128h + 32s + l is bits 2s..2s+1 of byte 32h + l; its sub-block (16 values) is e / 16.
void q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = half(b + 80), dmin = half(b + 82);
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, s = (e / 32) % 4, l = e % 32;
    const uint8_t sc = scales[e / 16];
    const float dl = d * static_cast<float>(sc & 0x0F);
    const float ml = dmin * static_cast<float>(sc >> 4);
    y[e] = dl * static_cast<float>((qs[32 * h + l] >> (2 * s)) & 3) - ml;
  }
}

// Q3_K: 32 bytes of high bits (value e = 32b + l: bit b of hmask[l]), 64 bytes of low 2-bit
// values laid out as in Q2_K, 12 bytes of 6-bit signed scales (offset 32), d. The value is
// low - 4 where its high bit is clear.
void q3_k(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* sc = b + 96;
  const float d = half(b + 108);
  float dl[16];
  for (int i = 0; i < 16; ++i) {
    const int low = i < 8 ? sc[i] & 0x0F : sc[i - 8] >> 4;
    const int high = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
    dl[i] = d * static_cast<float>((low | high << 4) - 32);
  }
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, s = (e / 32) % 4, l = e % 32;
    const int low = (qs[32 * h + l] >> (2 * s)) & 3;
    const int hbit = (hmask[l] >> (e / 32)) & 1;
    y[e] = dl[e / 16] * static_cast<float>(low - (hbit ? 0 : 4));
  }
}

// The 6-bit scales and mins of the eight 32-value sub-blocks of Q4_K and Q5_K.
void kScaleMin(const uint8_t* s, uint8_t* sc, uint8_t* mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    mn[j] = s[j + 4] & 63;
    sc[j + 4] = static_cast<uint8_t>((s[j + 8] & 0x0F) | ((s[j] >> 2) & 0x30));
    mn[j + 4] = static_cast<uint8_t>((s[j + 8] >> 4) | ((s[j + 4] >> 2) & 0x30));
  }
}

// Q4_K: d, dmin, 12 bytes of scales/mins, 128 bytes: byte 32j + l holds value 64j + l in its low
// nibble and 64j + 32 + l in its high nibble.
void q4_k(const uint8_t* b, float* y) {
  const float d = half(b), dmin = half(b + 2);
  uint8_t sc[8], mn[8];
  kScaleMin(b + 4, sc, mn);
  const uint8_t* qs = b + 16;
  for (int e = 0; e < 256; ++e) {
    const int sub = e / 32, j = e / 64, l = e % 32;
    const int q = (qs[32 * j + l] >> (4 * (sub % 2))) & 0x0F;
    const float dl = d * static_cast<float>(sc[sub]);
    const float ml = dmin * static_cast<float>(mn[sub]);
    y[e] = dl * static_cast<float>(q) - ml;
  }
}

// Q5_K: Q4_K plus 32 bytes of fifth bits: value e = 32b + l has bit b of qh[l].
void q5_k(const uint8_t* b, float* y) {
  const float d = half(b), dmin = half(b + 2);
  uint8_t sc[8], mn[8];
  kScaleMin(b + 4, sc, mn);
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  for (int e = 0; e < 256; ++e) {
    const int sub = e / 32, j = e / 64, l = e % 32;
    const int q = ((qs[32 * j + l] >> (4 * (sub % 2))) & 0x0F) | ((qh[l] >> sub) & 1) << 4;
    const float dl = d * static_cast<float>(sc[sub]);
    const float ml = dmin * static_cast<float>(mn[sub]);
    y[e] = dl * static_cast<float>(q) - ml;
  }
}

// Q6_K: 128 bytes of low nibbles (value e = 128h + 64s + l: nibble s of byte 64h + l), 64 bytes
// of high 2-bit pairs (value e = 128h + 32s + l: bits 2s..2s+1 of byte 32h + l), 16 signed scales
// (one per 16 values), d. The value is (low | high << 4) - 32.
void q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half(b + 208);
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, r = e % 128;
    const int low = (ql[64 * h + r % 64] >> (4 * (r / 64))) & 0x0F;
    const int high = (qh[32 * h + r % 32] >> (2 * (r / 32))) & 3;
    const float dl = d * static_cast<float>(sc[e / 16]);
    y[e] = dl * static_cast<float>((low | high << 4) - 32);
  }
}

using BlockFn = void (*)(const uint8_t*, float*);

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

const char* dtypeName(DType t) { return format(t).name; }

DType dtypeFromName(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(DType::Q6_K); ++i) {
    if (name == format(static_cast<DType>(i)).name) return static_cast<DType>(i);
  }
  throw std::invalid_argument("unsupported tensor dtype " + name);
}
int blockElems(DType t) { return format(t).blockElems; }
int blockBytes(DType t) { return format(t).blockBytes; }
bool isQuantized(DType t) { return format(t).blockElems > 1; }

uint64_t storageBytes(DType t, int64_t count) {
  const Format& f = format(t);
  if (count < 0 || count % f.blockElems != 0) {
    throw std::invalid_argument(std::to_string(count) + " values are not a whole number of " + f.name + " blocks (" +
                                std::to_string(f.blockElems) + " values each)");
  }
  return static_cast<uint64_t>(count / f.blockElems) * static_cast<uint64_t>(f.blockBytes);
}

float bf16ToF32(uint16_t v) {
  uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float f16ToF32(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do { ++e; mant <<= 1; } while ((mant & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void convertToF32(DType src, const void* in, float* out, size_t n) {
  switch (src) {
    case DType::F32:
      std::memcpy(out, in, n * 4);
      return;
    case DType::BF16: {
      auto p = static_cast<const uint16_t*>(in);
      for (size_t i = 0; i < n; ++i) out[i] = bf16ToF32(p[i]);
      return;
    }
    case DType::F16: {
      auto p = static_cast<const uint16_t*>(in);
      for (size_t i = 0; i < n; ++i) out[i] = f16ToF32(p[i]);
      return;
    }
    default: {
      const BlockFn fn = blockFn(src);
      const Format& f = format(src);
      if (n % f.blockElems != 0) throw std::invalid_argument(std::string("partial ") + f.name + " block");
      const auto* bytes = static_cast<const uint8_t*>(in);
      for (size_t b = 0; b < n / f.blockElems; ++b) fn(bytes + b * f.blockBytes, out + b * f.blockElems);
    }
  }
}

}  // namespace rb
