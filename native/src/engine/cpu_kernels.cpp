#include "engine/cpu_kernels.h"

#include <cmath>

namespace rb::cpu {

float dot(const float* a, const float* b, int n) {
  // Eight independent partial sums let the compiler keep a vector register busy without
  // reassociating (no -ffast-math).
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) s[k] += a[i + k] * b[i + k];
  }
  float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

namespace {
// Below this many multiply-adds, waking worker threads costs more than it saves.
constexpr long kParallelMinWork = 1L << 15;
}

void matmul(const float* X, int n, int in, const float* W, int out, const float* bias, float* Y) {
  const long work = static_cast<long>(n) * in * out;
#pragma omp parallel for schedule(static) if (work >= kParallelMinWork)
  for (int o = 0; o < out; ++o) {
    const float* w = W + static_cast<size_t>(o) * in;
    const float b = bias ? bias[o] : 0.0f;
    for (int t = 0; t < n; ++t) {
      Y[static_cast<size_t>(t) * out + o] = dot(X + static_cast<size_t>(t) * in, w, in) + b;
    }
  }
}

void rmsnorm(const float* X, const float* weight, int rows, int dim, float eps, float* Y) {
  for (int r = 0; r < rows; ++r) {
    const float* x = X + static_cast<size_t>(r) * dim;
    float* y = Y + static_cast<size_t>(r) * dim;
    double ss = 0;
    for (int i = 0; i < dim; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float variance = static_cast<float>(ss / dim);
    const float inv = 1.0f / std::sqrt(variance + eps);
    for (int i = 0; i < dim; ++i) y[i] = weight[i] * (x[i] * inv);
  }
}

void swiglu(float* gate, const float* up, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace rb::cpu
