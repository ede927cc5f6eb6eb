// Quantizers for the GGUF block formats, written from the formats' definitions (the layouts that
// dtype.cpp dequantizes): rabbit-bench's own, for `rabbit-bench quantize` and synthetic GGUF
// files. Not part of the engine, which only reads blocks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/model.h"

namespace rb::quant {

// Quantizes `rows` rows of `cols` f32 values each into `out` (rows * storageBytes(dtype, cols)
// bytes). Float types are converted (f16, bf16 with round-to-nearest-even). Throws
// std::invalid_argument when a row is not a whole number of blocks.
void quantizeRows(DType dtype, const float* values, int64_t rows, int64_t cols, uint8_t* out);

}  // namespace rb::quant
