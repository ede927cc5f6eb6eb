// The AVX2 + FMA + F16C dot products of quantized rows (8-lane products; see
// cpu_kernels_quant.inc). Like cpu_kernels_avx2.cpp, only this file is built for these
// instruction sets, and it is only called after the CPU was checked for them.
#include <immintrin.h>

#include "engine/cpu_kernels_isa.h"

namespace rb::cpu::isa {
#define QUANT_LANES 8
#define QUANT_ENTRY quantRowsAvx2
#include "engine/cpu_kernels_quant.inc"
}  // namespace rb::cpu::isa
