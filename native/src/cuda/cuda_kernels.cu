// The CUDA backend's kernels. Everything computes in f32 like the CPU backend and transformers'
// float32 reference; no fast-math (IEEE division, sqrt and expf), and RoPE uses round-to-nearest
// intrinsics so it is not contracted into FMAs and matches the CPU bit for bit.
#include "cuda/cuda_kernels.h"

#ifndef RB_KERNEL_EMULATION
#include <cuda_fp16.h>
#define RB_LAUNCH(kernel, grid, block, stream) kernel<<<(grid), (block), 0, (stream)>>>
#endif

#include <cfloat>
#include <climits>
#include <cmath>

namespace rb::cuda {
namespace {

constexpr unsigned kFull = 0xffffffffu;

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFull, v, o));
  return v;
}

// Block-wide reductions; every thread gets the result. `scratch` holds 32 floats. Ends with a
// barrier, so scratch can be reused at once.
__device__ float blockSum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warpSum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float w = lane < warps ? scratch[lane] : 0.0f;
    w = warpSum(w);
    if (lane == 0) scratch[0] = w;
  }
  __syncthreads();
  const float r = scratch[0];
  __syncthreads();
  return r;
}

__device__ float blockMax(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warpMax(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float w = lane < warps ? scratch[lane] : -INFINITY;
    w = warpMax(w);
    if (lane == 0) scratch[0] = w;
  }
  __syncthreads();
  const float r = scratch[0];
  __syncthreads();
  return r;
}

__device__ __forceinline__ float toF32(uint16_t v, int type) {
  if (type == kBF16) return __uint_as_float(static_cast<uint32_t>(v) << 16);
  return __half2float(__ushort_as_half(v));
}

// Grid-stride kernels: enough blocks to cover n, at most 65536 (each thread then loops).
int blocksFor(size_t n, int threads) {
  const size_t b = (n + threads - 1) / threads;
  return static_cast<int>(b < 65536u ? b : 65536u);
}

// ---- dtype conversion and embedding -----------------------------------------------------------

__global__ void convertHalfKernel(const uint16_t* __restrict__ in, float* __restrict__ out, size_t n, int type) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    out[i] = toF32(in[i], type);
  }
}

template <typename T>
__global__ void embeddingKernel(const T* __restrict__ table, const int32_t* __restrict__ ids, int n, int dim,
                                float* __restrict__ out, int type) {
  const size_t total = static_cast<size_t>(n) * dim;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t t = i / dim, d = i % dim;
    const size_t row = static_cast<size_t>(ids ? ids[t] : static_cast<int32_t>(t));
    if constexpr (sizeof(T) == 4) {
      out[i] = table[row * dim + d];
    } else {
      out[i] = toF32(table[row * dim + d], type);
    }
  }
}

// ---- norms, RoPE, elementwise -----------------------------------------------------------------

__global__ void rmsnormKernel(const float* X, const float* __restrict__ weight, float* Y, int dim, float eps) {
  __shared__ float scratch[32];
  const float* x = X + static_cast<size_t>(blockIdx.x) * dim;
  float* y = Y + static_cast<size_t>(blockIdx.x) * dim;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) ss += x[i] * x[i];
  ss = blockSum(ss, scratch);
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(dim) + eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) y[i] = weight[i] * (x[i] * inv);
}

__global__ void ropeKernel(float* x, int n, int heads, int headDim, int rowStride, int pos0, const float* __restrict__ cosT,
                           const float* __restrict__ sinT, int adjacent) {
  const int half = headDim / 2;
  const size_t total = static_cast<size_t>(n) * heads * half;
  for (size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int i = static_cast<int>(idx % half);
    const int h = static_cast<int>((idx / half) % heads);
    const int t = static_cast<int>(idx / (static_cast<size_t>(half) * heads));
    const size_t pos = static_cast<size_t>(pos0 + t);
    const float c = cosT[pos * half + i], s = sinT[pos * half + i];
    float* head = x + static_cast<size_t>(t) * rowStride + static_cast<size_t>(h) * headDim;
    const int a = adjacent ? 2 * i : i;
    const int b = a + (adjacent ? 1 : half);
    const float x1 = head[a], x2 = head[b];
    head[a] = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
    head[b] = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
  }
}

__global__ void addKernel(float* __restrict__ x, const float* __restrict__ y, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    x[i] += y[i];
  }
}

__global__ void addBiasKernel(float* __restrict__ Y, const float* __restrict__ bias, int rows, int out) {
  const size_t n = static_cast<size_t>(rows) * out;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    Y[i] += bias[i % out];
  }
}

__global__ void swigluKernel(float* __restrict__ gate, const float* __restrict__ up, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    gate[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

// ---- attention --------------------------------------------------------------------------------

constexpr int kAttThreads = 128;
constexpr int kAttTile = 128;

// One block per (query, head), in a 1-D grid (prompts longer than 65535 tokens fit). Keys are taken in tiles: a warp per key computes the scores,
// then the running max / sum / output are rescaled (online softmax), so any context length fits
// in fixed shared memory. Each thread owns output dims tid and tid + 128.
__global__ void __launch_bounds__(kAttThreads) attentionKernel(const float* __restrict__ q, const float* __restrict__ kc,
                                                               const float* __restrict__ vc, float* __restrict__ out,
                                                               int n, int pos0, int heads, int kvHeads, int D,
                                                               int window, float scale, int booleanMask) {
  __shared__ float sq[kMaxHeadDim];
  __shared__ float sp[kAttTile];
  __shared__ float scratch[32];
  const int h = static_cast<int>(blockIdx.x % heads), t = static_cast<int>(blockIdx.x / heads);
  const int g = h / (heads / kvHeads);
  const int Q = heads * D, KV = kvHeads * D;
  const int pos = pos0 + t;
  int first = window > 0 ? max(0, pos - window + 1) : 0;
  int last = pos;
  if (booleanMask) {
    first = 0;
    last = pos0 + n - 1;
  }
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, warps = blockDim.x >> 5;
  const float* qp = q + static_cast<size_t>(t) * Q + static_cast<size_t>(h) * D;
  for (int d = tid; d < D; d += blockDim.x) sq[d] = qp[d];
  __syncthreads();

  float m = -INFINITY, l = 0.0f, acc0 = 0.0f, acc1 = 0.0f;
  const int d0 = tid, d1 = tid + blockDim.x;
  for (int j0 = first; j0 <= last; j0 += kAttTile) {
    const int count = min(kAttTile, last - j0 + 1);
    for (int j = warp; j < count; j += warps) {
      const float* kp = kc + static_cast<size_t>(j0 + j) * KV + static_cast<size_t>(g) * D;
      float s = 0.0f;
      for (int d = lane; d < D; d += 32) s += sq[d] * kp[d];
      s = warpSum(s);
      if (lane == 0) {
        s *= scale;
        if (booleanMask) s += (j0 + j <= pos) ? 1.0f : 0.0f;
        sp[j] = s;
      }
    }
    __syncthreads();
    float tileMax = -INFINITY;
    for (int j = tid; j < count; j += blockDim.x) tileMax = fmaxf(tileMax, sp[j]);
    tileMax = blockMax(tileMax, scratch);
    const float mNew = fmaxf(m, tileMax);
    const float correction = expf(m - mNew);  // 0 on the first tile (m = -inf)
    float tileSum = 0.0f;
    for (int j = tid; j < count; j += blockDim.x) {
      const float p = expf(sp[j] - mNew);
      sp[j] = p;
      tileSum += p;
    }
    tileSum = blockSum(tileSum, scratch);  // its barriers also publish sp
    l = l * correction + tileSum;
    acc0 *= correction;
    acc1 *= correction;
    for (int j = 0; j < count; ++j) {
      const float p = sp[j];
      const float* vp = vc + static_cast<size_t>(j0 + j) * KV + static_cast<size_t>(g) * D;
      if (d0 < D) acc0 += p * vp[d0];
      if (d1 < D) acc1 += p * vp[d1];
    }
    m = mNew;
    __syncthreads();  // sp is rewritten by the next tile
  }
  float* op = out + static_cast<size_t>(t) * Q + static_cast<size_t>(h) * D;
  if (d0 < D) op[d0] = acc0 / l;
  if (d1 < D) op[d1] = acc1 / l;
}

// ---- GEMM / GEMV ------------------------------------------------------------------------------

// Decode (and other small n): one warp per output column, all n rows at once, so each weight
// row is read from memory once per step. float4 loads when rows are 16-byte aligned.
template <int R>
__global__ void gemvKernel(const float* __restrict__ X, const float* __restrict__ W, const float* __restrict__ bias,
                           float* __restrict__ Y, int in, int out, int vec4) {
  const int o = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (o >= out) return;
  const float* w = W + static_cast<size_t>(o) * in;
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.0f;
  if (vec4) {
    const float4* w4 = reinterpret_cast<const float4*>(w);
    const int in4 = in >> 2;
    for (int i = lane; i < in4; i += 32) {
      const float4 wv = w4[i];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const float4 xv = reinterpret_cast<const float4*>(X + static_cast<size_t>(r) * in)[i];
        acc[r] += wv.x * xv.x + wv.y * xv.y + wv.z * xv.z + wv.w * xv.w;
      }
    }
  } else {
    for (int i = lane; i < in; i += 32) {
      const float wv = w[i];
#pragma unroll
      for (int r = 0; r < R; ++r) acc[r] += wv * X[static_cast<size_t>(r) * in + i];
    }
  }
  const float b = bias ? bias[o] : 0.0f;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const float s = warpSum(acc[r]);
    if (lane == 0) Y[static_cast<size_t>(r) * out + o] = s + b;
  }
}

// Prefill: 64 x 64 output tiles, k in steps of 16 through shared memory, 256 threads with 4 x 4
// outputs each (strided by 16 so shared-memory reads are conflict-free and stores coalesce).
constexpr int kBM = 64, kBN = 64, kBK = 16;

__global__ void __launch_bounds__(256) gemmTiledKernel(const float* __restrict__ X, const float* __restrict__ W,
                                                       const float* __restrict__ bias, float* __restrict__ Y, int n,
                                                       int in, int out) {
  __shared__ float Xs[kBK][kBM + 1];
  __shared__ float Ws[kBK][kBN + 1];
  const int tid = threadIdx.x;
  const int tx = tid & 15, ty = tid >> 4;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;

  for (int k0 = 0; k0 < in; k0 += kBK) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int idx = tid + e * 256;  // 0..1023: 64 rows x 16 k, k fastest (coalesced)
      const int r = idx >> 4, k = idx & 15;
      const int gk = k0 + k;
      const int gr = row0 + r, gc = col0 + r;
      Xs[k][r] = (gr < n && gk < in) ? X[static_cast<size_t>(gr) * in + gk] : 0.0f;
      Ws[k][r] = (gc < out && gk < in) ? W[static_cast<size_t>(gc) * in + gk] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kBK; ++k) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = Xs[k][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = Ws[k][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int r = row0 + ty + 16 * i;
    if (r >= n) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = col0 + tx + 16 * j;
      if (c < out) Y[static_cast<size_t>(r) * out + c] = acc[i][j] + (bias ? bias[c] : 0.0f);
    }
  }
}

// ---- argmax -----------------------------------------------------------------------------------

constexpr int kArgmaxThreads = 1024;

__global__ void __launch_bounds__(kArgmaxThreads) argmaxKernel(const float* __restrict__ x, int n, int32_t* index) {
  __shared__ float values[kArgmaxThreads];
  __shared__ int indices[kArgmaxThreads];
  const int tid = threadIdx.x;
  float best = -INFINITY;
  int bestIndex = INT_MAX;
  for (int i = tid; i < n; i += blockDim.x) {
    const float v = x[i];
    if (v != v) continue;  // NaN never wins, as in the host argmax
    if (bestIndex == INT_MAX || v > best) {  // strict: the first maximum of this thread's slice
      best = v;
      bestIndex = i;
    }
  }
  values[tid] = best;
  indices[tid] = bestIndex;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (tid < stride) {
      const float v = values[tid + stride];
      const int vi = indices[tid + stride];
      if (vi != INT_MAX && (indices[tid] == INT_MAX || v > values[tid] || (v == values[tid] && vi < indices[tid]))) {
        values[tid] = v;
        indices[tid] = vi;
      }
    }
    __syncthreads();
  }
  if (tid == 0) *index = indices[0] == INT_MAX ? 0 : indices[0];
}

}  // namespace

void convertToF32(int type, const void* in, float* out, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  if (type == kF32) {
    cudaMemcpyAsync(out, in, n * sizeof(float), cudaMemcpyDeviceToDevice, stream);
    return;
  }
  const int threads = 256;
  RB_LAUNCH(convertHalfKernel, blocksFor(n, threads), threads, stream)(static_cast<const uint16_t*>(in), out, n, type);
}

void embedding(int type, const void* table, const int32_t* ids, int n, int dim, float* out, cudaStream_t stream) {
  const size_t total = static_cast<size_t>(n) * dim;
  if (total == 0) return;
  const int threads = 256;
  if (type == kF32) {
    RB_LAUNCH(embeddingKernel<float>, blocksFor(total, threads), threads, stream)(static_cast<const float*>(table), ids, n, dim, out, type);
  } else {
    RB_LAUNCH(embeddingKernel<uint16_t>, blocksFor(total, threads), threads, stream)(static_cast<const uint16_t*>(table), ids, n, dim, out, type);
  }
}

void rmsnorm(const float* X, const float* weight, int rows, int dim, float eps, float* Y, cudaStream_t stream) {
  if (rows == 0) return;
  const int threads = dim >= 1024 ? 512 : dim >= 256 ? 256 : 128;
  RB_LAUNCH(rmsnormKernel, rows, threads, stream)(X, weight, Y, dim, eps);
}

void rope(float* x, int n, int heads, int headDim, int rowStride, int pos0, const float* cos, const float* sin,
          bool adjacentPairs, cudaStream_t stream) {
  const size_t total = static_cast<size_t>(n) * heads * (headDim / 2);
  if (total == 0) return;
  const int threads = 256;
  RB_LAUNCH(ropeKernel, blocksFor(total, threads), threads, stream)(x, n, heads, headDim, rowStride, pos0, cos, sin,
                                                                     adjacentPairs ? 1 : 0);
}

void attention(const float* q, const float* kCache, const float* vCache, float* out, int n, int pos0, int heads,
               int kvHeads, int headDim, int window, float scale, bool booleanMaskFault, cudaStream_t stream) {
  if (n == 0) return;
  const unsigned blocks = static_cast<unsigned>(heads) * static_cast<unsigned>(n);
  RB_LAUNCH(attentionKernel, blocks, kAttThreads, stream)(q, kCache, vCache, out, n, pos0, heads, kvHeads, headDim, window,
                                                     scale, booleanMaskFault ? 1 : 0);
}

void gemm(const float* X, int n, int in, const float* W, int out, const float* bias, float* Y, cudaStream_t stream) {
  if (n == 0 || out == 0) return;
  if (n <= 8) {
    const bool vec4 = in % 4 == 0 && reinterpret_cast<uintptr_t>(X) % 16 == 0 && reinterpret_cast<uintptr_t>(W) % 16 == 0;
    const int threads = 256;  // 8 warps: 8 outputs per block
    const int blocks = (out + 7) / 8;
    const int v = vec4 ? 1 : 0;
    switch (n) {
      case 1: RB_LAUNCH(gemvKernel<1>, blocks, threads, stream)(X, W, bias, Y, in, out, v); break;
      case 2: RB_LAUNCH(gemvKernel<2>, blocks, threads, stream)(X, W, bias, Y, in, out, v); break;
      case 3: RB_LAUNCH(gemvKernel<3>, blocks, threads, stream)(X, W, bias, Y, in, out, v); break;
      case 4: RB_LAUNCH(gemvKernel<4>, blocks, threads, stream)(X, W, bias, Y, in, out, v); break;
      case 5: RB_LAUNCH(gemvKernel<5>, blocks, threads, stream)(X, W, bias, Y, in, out, v); break;
      case 6: RB_LAUNCH(gemvKernel<6>, blocks, threads, stream)(X, W, bias, Y, in, out, v); break;
      case 7: RB_LAUNCH(gemvKernel<7>, blocks, threads, stream)(X, W, bias, Y, in, out, v); break;
      default: RB_LAUNCH(gemvKernel<8>, blocks, threads, stream)(X, W, bias, Y, in, out, v); break;
    }
    return;
  }
  dim3 grid((out + kBN - 1) / kBN, (n + kBM - 1) / kBM);
  RB_LAUNCH(gemmTiledKernel, grid, 256, stream)(X, W, bias, Y, n, in, out);
}

void addBias(float* Y, const float* bias, int rows, int out, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(rows) * out;
  if (n == 0) return;
  RB_LAUNCH(addBiasKernel, blocksFor(n, 256), 256, stream)(Y, bias, rows, out);
}

void add(float* x, const float* y, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  RB_LAUNCH(addKernel, blocksFor(n, 256), 256, stream)(x, y, n);
}

void swiglu(float* gate, const float* up, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  RB_LAUNCH(swigluKernel, blocksFor(n, 256), 256, stream)(gate, up, n);
}

void argmax(const float* x, int n, int32_t* index, cudaStream_t stream) {
  RB_LAUNCH(argmaxKernel, 1, kArgmaxThreads, stream)(x, n, index);
}

}  // namespace rb::cuda
