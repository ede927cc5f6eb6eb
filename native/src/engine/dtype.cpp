#include "engine/dtype.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace rb {

size_t dtypeSize(DType t) { return t == DType::F32 ? 4 : 2; }

const char* dtypeName(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
  }
  return "?";
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
  }
  throw std::invalid_argument("unknown dtype");
}

}  // namespace rb
