// Runs the kernels of cuda_kernels.cu on the host, so their logic (indexing, tiling, masks,
// reductions, shuffles, barriers) is tested on machines without a GPU. Only for tests
// (native/test/kernels_test.cpp, compiled with -DRB_KERNEL_EMULATION). Every CUDA thread of a block
// is a fiber (ucontext) on one host thread; __syncthreads and warp shuffles are barriers at which
// fibers yield; blocks run one after another, so __shared__ can be static storage. Deterministic,
// and it says nothing about speed or about what only hardware does (memory model, occupancy,
// launch limits).
#pragma once

#include <ucontext.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

struct alignas(16) float4 {
  float x, y, z, w;
};

typedef struct CUstream_st* cudaStream_t;
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyDeviceToDevice = 3 };
inline int cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  std::memcpy(dst, src, bytes);
  return 0;
}

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

using std::max;
using std::min;

namespace rb_emu {

inline dim3 threadIdx_, blockIdx_, blockDim_, gridDim_;

struct Fiber {
  ucontext_t context;
  std::unique_ptr<char[]> stack;
  dim3 block{0, 0, 0};  // the block this fiber is running
  bool done = false;
};

struct Scheduler {
  ucontext_t main;
  std::vector<Fiber> fibers;
  int current = 0;
  const std::function<void()>* body = nullptr;
  dim3 grid, block;
  std::vector<float> exchange;  // one slot per thread, for warp shuffles
};

inline Scheduler* scheduler_ = nullptr;

inline void yield() {
  Scheduler& s = *scheduler_;
  swapcontext(&s.fibers[s.current].context, &s.main);
}

// Reusable barrier: the last fiber to arrive releases the others, which wait by yielding.
struct Barrier {
  int count = 0, arrived = 0;
  long generation = 0;
  void wait() {
    const long g = generation;
    if (++arrived == count) {
      arrived = 0;
      ++generation;
      return;
    }
    while (generation == g) yield();
  }
};

inline Barrier blockBarrier_;
inline std::vector<Barrier> warpBarriers_;

inline int linear() { return static_cast<int>(threadIdx_.x + blockDim_.x * (threadIdx_.y + blockDim_.y * threadIdx_.z)); }

inline void syncthreads() { blockBarrier_.wait(); }

inline float shflXor(float v, int offset) {
  const int t = linear(), warp = t / 32, lane = t % 32;
  scheduler_->exchange[t] = v;
  warpBarriers_[warp].wait();
  const float r = scheduler_->exchange[warp * 32 + (lane ^ offset)];
  warpBarriers_[warp].wait();
  return r;
}

inline void fiberMain(int index) {
  Scheduler& s = *scheduler_;
  for (unsigned bz = 0; bz < s.grid.z; ++bz) {
    for (unsigned by = 0; by < s.grid.y; ++by) {
      for (unsigned bx = 0; bx < s.grid.x; ++bx) {
        s.fibers[index].block = dim3(bx, by, bz);
        blockIdx_ = s.fibers[index].block;
        (*s.body)();
        blockBarrier_.wait();  // the block is done before any fiber starts the next one
      }
    }
  }
  s.fibers[index].done = true;
}

// Runs `body` as every thread of every block of the grid.
inline void run(dim3 grid, dim3 block, const std::function<void()>& body) {
  constexpr size_t kStack = 128 * 1024;
  const int threads = static_cast<int>(block.x * block.y * block.z);
  Scheduler s;
  s.body = &body;
  s.grid = grid;
  s.block = block;
  s.exchange.assign(threads, 0.0f);
  s.fibers.resize(threads);
  scheduler_ = &s;
  blockBarrier_ = Barrier{threads, 0, 0};
  warpBarriers_.assign((threads + 31) / 32, Barrier{});
  for (int w = 0; w * 32 < threads; ++w) warpBarriers_[w].count = threads - 32 * w < 32 ? threads - 32 * w : 32;
  for (int t = 0; t < threads; ++t) {
    Fiber& f = s.fibers[t];
    f.stack.reset(new char[kStack]);
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack.get();
    f.context.uc_stack.ss_size = kStack;
    f.context.uc_link = &s.main;
    makecontext(&f.context, reinterpret_cast<void (*)()>(&fiberMain), 1, t);
  }
  blockDim_ = block;
  gridDim_ = grid;
  // Round robin: each fiber runs until it waits at a barrier or finishes.
  for (bool running = true; running;) {
    running = false;
    for (int t = 0; t < threads; ++t) {
      Fiber& f = s.fibers[t];
      if (f.done) continue;
      running = true;
      s.current = t;
      threadIdx_ = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
      blockIdx_ = f.block;
      swapcontext(&s.main, &f.context);
    }
  }
  scheduler_ = nullptr;
}

template <typename... P>
struct Launch {
  dim3 grid, block;
  void (*kernel)(P...);
  template <typename... A>
  void operator()(A... args) const {
    auto k = kernel;
    run(grid, block, [=] { k(static_cast<P>(args)...); });
  }
};

template <typename... P>
Launch<P...> launch(dim3 grid, dim3 block, void (*kernel)(P...)) {
  return Launch<P...>{grid, block, kernel};
}

struct Half {
  uint16_t bits;
};

inline float halfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
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

}  // namespace rb_emu

#define threadIdx (::rb_emu::threadIdx_)
#define blockIdx (::rb_emu::blockIdx_)
#define blockDim (::rb_emu::blockDim_)
#define gridDim (::rb_emu::gridDim_)
#define __syncthreads() ::rb_emu::syncthreads()
#define __shfl_xor_sync(mask, value, offset) ::rb_emu::shflXor((value), (offset))
#define RB_LAUNCH(kernel, grid, block, stream) ((void)(stream), ::rb_emu::launch(dim3(grid), dim3(block), kernel))

inline float __uint_as_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline ::rb_emu::Half __ushort_as_half(uint16_t v) { return ::rb_emu::Half{v}; }
inline float __half2float(::rb_emu::Half h) { return ::rb_emu::halfToFloat(h.bits); }
// Rounded separately, never fused, as the _rn intrinsics promise.
inline float __fmul_rn(float a, float b) {
  volatile float r = a * b;
  return r;
}
inline float __fadd_rn(float a, float b) {
  volatile float r = a + b;
  return r;
}
inline float __fsub_rn(float a, float b) {
  volatile float r = a - b;
  return r;
}
