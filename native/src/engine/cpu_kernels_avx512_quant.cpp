// The AVX-512F dot products of quantized rows (16-lane products, AVX2 byte unpacking; see
// cpu_kernels_quant.inc). Only called on a CPU with AVX-512F besides AVX2 + FMA + F16C.
#include <immintrin.h>

#include "engine/cpu_kernels_isa.h"

namespace rb::cpu::isa {
#define QUANT_LANES 16
#define QUANT_ENTRY quantRowsAvx512
#include "engine/cpu_kernels_quant.inc"
}  // namespace rb::cpu::isa
