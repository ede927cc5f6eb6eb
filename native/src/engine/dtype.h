#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/model.h"

namespace rb {

float bf16ToF32(uint16_t v);
float f16ToF32(uint16_t v);

// Converts `n` values stored as `src` dtype to f32 (the compute type). For a quantized type, `in`
// starts at a block and `n` is a whole number of blocks; the values are the format's dequantized
// values exactly.
void convertToF32(DType src, const void* in, float* out, size_t n);

}  // namespace rb
