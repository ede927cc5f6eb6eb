// Portable f32 kernels of the CPU backend. Parallel loops use OpenMP when the build has it.
#pragma once

#include <cstddef>

namespace rb::cpu {

float dot(const float* a, const float* b, int n);

// Y[n x out] = X[n x in] * W[out x in]^T (+ bias[out]).
void matmul(const float* X, int n, int in, const float* W, int out, const float* bias, float* Y);

// Y = X / rms(X) * weight, row by row (rows of `dim`), as transformers' RMSNorm in float32.
void rmsnorm(const float* X, const float* weight, int rows, int dim, float eps, float* Y);

// gate <- silu(gate) * up, elementwise.
void swiglu(float* gate, const float* up, size_t n);

}  // namespace rb::cpu
