// Launchers for the CUDA backend's kernels (f32 compute, like the CPU backend). Every launcher
// enqueues on `stream` and returns at once; errors surface through cudaGetLastError.
#pragma once

#ifdef RB_KERNEL_EMULATION
#include "cuda/kernel_emulation.h"  // host threads stand in for the GPU (native/test/kernels_test.cpp)
#else
#include <cuda_runtime_api.h>
#endif

#include <cstddef>
#include <cstdint>

namespace rb::cuda {

// Source dtypes, as rb::DType: 0 = F32, 1 = F16, 2 = BF16.
enum SrcType : int { kF32 = 0, kF16 = 1, kBF16 = 2 };

// out[i] = f32(in[i]) for n values stored as `type` (bf16 and f16 widen exactly).
void convertToF32(int type, const void* in, float* out, size_t n, cudaStream_t stream);

// Embedding lookup: out[t] = f32(table[ids ? ids[t] : t]) for rows of `dim` values.
void embedding(int type, const void* table, const int32_t* ids, int n, int dim, float* out, cudaStream_t stream);

// Y = X / rms(X) * weight, row by row (rows of `dim`); X may equal Y.
void rmsnorm(const float* X, const float* weight, int rows, int dim, float eps, float* Y, cudaStream_t stream);

// Rotates every head of `n` rows in place (rotate_half: pairs (i, i + d/2); adjacent pairs only
// as the wrong-rope test fault). cos/sin: [position][headDim / 2].
void rope(float* x, int n, int heads, int headDim, int rowStride, int pos0, const float* cos, const float* sin,
          bool adjacentPairs, cudaStream_t stream);

// Causal (optionally sliding-window) softmax attention of the n queries at positions pos0.. over
// the cache (k, v: [position][kvHeads][headDim]); online softmax in tiles of keys, one block per
// (head, query). headDim <= kMaxHeadDim.
constexpr int kMaxHeadDim = 256;
void attention(const float* q, const float* kCache, const float* vCache, float* out, int n, int pos0, int heads,
               int kvHeads, int headDim, int window, float scale, bool booleanMaskFault, cudaStream_t stream);

// Y[n x out] = X[n x in] * W[out x in]^T (+ bias[out]): a warp per output for n <= 8 (decode),
// a shared-memory tiled kernel otherwise.
void gemm(const float* X, int n, int in, const float* W, int out, const float* bias, float* Y, cudaStream_t stream);

// Y[r][o] += bias[o] (after a cuBLAS GEMM).
void addBias(float* Y, const float* bias, int rows, int out, cudaStream_t stream);

// x += y.
void add(float* x, const float* y, size_t n, cudaStream_t stream);

// gate <- silu(gate) * up.
void swiglu(float* gate, const float* up, size_t n, cudaStream_t stream);

// *index = first index of the maximum of x[0..n), like torch.argmax.
void argmax(const float* x, int n, int32_t* index, cudaStream_t stream);

}  // namespace rb::cuda
