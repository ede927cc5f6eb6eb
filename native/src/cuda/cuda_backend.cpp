// The CUDA backend, behind the same Backend interface as the CPU one. Streaming the RabbitLLM
// way: the engine reads a unit from disk into a pinned host buffer (load_safe_tensor, from
// hostAllocator()); createUnit starts its host-to-device copy on a transfer stream and widens
// bf16/f16 to f32 on the device (create_layer); the forward runs on a compute stream, which waits
// for the copy with an event. With asynchronous transfer the engine stages unit u+1 while unit u
// computes, so the copy overlaps the previous layer's forward. The KV cache lives on the device.
// Device memory comes from plain cudaMalloc calls, each checked against free memory first.
#include "cuda/cuda_backend.h"

#include <cuda_runtime.h>
#if RB_HAVE_CUBLAS
#include <cublas_v2.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cuda/cuda_kernels.h"
#include "engine/rope.h"
#include "engine/timer.h"

namespace rb {
namespace {

std::string mib(uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::string errorText(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

void check(cudaError_t e, const std::string& what) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error
    throw std::runtime_error("CUDA error while " + what + ": " + errorText(e));
  }
}

void checkLaunch(const char* what) { check(cudaGetLastError(), std::string("launching ") + what); }

int srcType(DType t) { return t == DType::F32 ? cuda::kF32 : t == DType::F16 ? cuda::kF16 : cuda::kBF16; }

size_t dtypeBytes(DType t) { return t == DType::F32 ? 4 : 2; }

enum Use { kWeights, kKvCache, kActivations, kNumUses };

// The backend's device allocations: each is checked against the device's free memory before it is
// made, so a model that cannot fit fails with a sentence, not a crash in a kernel.
class DeviceMemory {
 public:
  // Left free for what is not ours: kernels' local memory, cuBLAS workspace, the context growing.
  static constexpr uint64_t kHeadroom = 64ull << 20;

  DeviceMemory() {
    // RABBIT_BENCH_CUDA_MAX_BYTES caps what this engine may allocate, as if the GPU were that
    // small: to try a model against a smaller card, and to test the out-of-memory message.
    if (const char* cap = std::getenv("RABBIT_BENCH_CUDA_MAX_BYTES"); cap && *cap) limit_ = std::strtoull(cap, nullptr, 10);
  }

  void* allocate(uint64_t bytes, Use use, const std::string& what) {
    if (bytes == 0) return nullptr;
    size_t freeBytes = 0, totalBytes = 0;
    check(cudaMemGetInfo(&freeBytes, &totalBytes), "reading free device memory");
    if (limit_ > 0) {
      totalBytes = std::min<uint64_t>(totalBytes, limit_);
      freeBytes = std::min<uint64_t>(freeBytes, limit_ > current_ ? limit_ - current_ : 0);
    }
    if (bytes + kHeadroom > freeBytes) throw std::runtime_error(outOfMemory(bytes, what, freeBytes, totalBytes));
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      throw std::runtime_error(outOfMemory(bytes, what, freeBytes, totalBytes));
    }
    check(e, "allocating " + mib(bytes) + " of device memory for " + what);
    std::lock_guard<std::mutex> lock(mutex_);
    current_ += bytes;
    byUse_[use] += bytes;
    peak_ = std::max(peak_, current_);
    return p;
  }

  void release(void* p, uint64_t bytes, Use use) noexcept {
    if (!p) return;
    cudaFree(p);
    std::lock_guard<std::mutex> lock(mutex_);
    current_ -= bytes;
    byUse_[use] -= bytes;
  }

  uint64_t current() const { return current_; }
  uint64_t peak() const { return peak_; }
  uint64_t of(Use use) const { return byUse_[use]; }

 private:
  std::string outOfMemory(uint64_t bytes, const std::string& what, size_t freeBytes, size_t totalBytes) const {
    return "not enough GPU memory for " + what + ": it needs " + mib(bytes) + " (+" + mib(kHeadroom) +
           " headroom) but the device has " + mib(freeBytes) + " free of " + mib(totalBytes) +
           " (this engine holds " + mib(current_) + ": weights " + mib(byUse_[kWeights]) + ", KV cache " +
           mib(byUse_[kKvCache]) + ", activations " + mib(byUse_[kActivations]) +
           ")" + (limit_ > 0 ? " [capped by RABBIT_BENCH_CUDA_MAX_BYTES]" : "") +
           ". Use a shorter prompt or fewer new tokens, streaming instead of --resident, or a smaller model";
  }

  std::mutex mutex_;
  uint64_t limit_ = 0;
  uint64_t current_ = 0;
  uint64_t peak_ = 0;
  uint64_t byUse_[kNumUses] = {0, 0, 0};
};

// A grow-only device buffer (contents are not kept when it grows).
class DeviceBuffer {
 public:
  DeviceBuffer(std::shared_ptr<DeviceMemory> memory, Use use) : memory_(std::move(memory)), use_(use) {}
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { reset(); }

  void ensure(uint64_t bytes, const std::string& what) {
    if (bytes <= bytes_) return;
    reset();  // first, so the free-memory check sees what this buffer gives back
    ptr_ = memory_->allocate(bytes, use_, what);
    bytes_ = bytes;
  }
  void reset() {
    memory_->release(ptr_, bytes_, use_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  uint64_t bytes() const { return bytes_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  std::shared_ptr<DeviceMemory> memory_;
  Use use_;
  void* ptr_ = nullptr;
  uint64_t bytes_ = 0;
};

// Page-locked host memory for unit buffers: the DMA engine reads it directly, so copies run
// asynchronously and at full PCIe speed.
class PinnedAllocator : public HostAllocator {
 public:
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    const cudaError_t e = cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocPortable);
    if (e != cudaSuccess) {
      cudaGetLastError();
      throw std::runtime_error("cannot allocate " + mib(bytes) + " of pinned (page-locked) host memory for a unit buffer: " +
                               errorText(e) + " (--no-pin-memory uses pageable memory)");
    }
    return p;
  }
  void deallocate(void* p, size_t /*bytes*/) noexcept override { cudaFreeHost(p); }
};

// One unit on the device: its bytes as read (f32 tensors are used from there directly) and an
// arena for the tensors widened to f32; `ready` marks the end of the copy and conversion.
class CudaUnitWeights : public UnitWeights {
 public:
  explicit CudaUnitWeights(const std::shared_ptr<DeviceMemory>& memory)
      : staging(memory, kWeights), arena(memory, kWeights) {
    check(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "creating an event");
  }
  ~CudaUnitWeights() override {
    if (ready) cudaEventDestroy(ready);
  }
  const float* at(size_t slot) const { return slot < slots.size() ? slots[slot] : nullptr; }
  uint64_t deviceBytes() const { return staging.bytes() + arena.bytes(); }

  DeviceBuffer staging;
  DeviceBuffer arena;
  std::vector<const float*> slots;
  cudaEvent_t ready = nullptr;
};

// The device's own timeline, for the trace: timing events recorded on a stream before and after
// each copy and each forward, read once the step's work is done. An anchor event recorded and
// waited for at the start of a step, when both streams are idle, puts device times on the host
// clock (to within the wait's wake-up, microseconds).
class DeviceTimeline {
 public:
  ~DeviceTimeline() {
    for (cudaEvent_t e : events_) cudaEventDestroy(e);
    if (anchor_) cudaEventDestroy(anchor_);
  }
  void setOn(bool on) {
    on_ = on;
    used_ = 0;
    pending_.clear();
  }
  void anchor(cudaStream_t s) {
    if (!on_) return;
    if (!anchor_) check(cudaEventCreate(&anchor_), "creating an event");
    check(cudaEventRecord(anchor_, s), "recording an event");
    check(cudaEventSynchronize(anchor_), "waiting for an event");
    anchorHostNs_ = nowNs();
  }
  // An event recorded on `s` now; -1 while off.
  int mark(cudaStream_t s) {
    if (!on_) return -1;
    if (used_ == events_.size()) {
      cudaEvent_t e = nullptr;
      check(cudaEventCreate(&e), "creating an event");
      events_.push_back(e);
    }
    check(cudaEventRecord(events_[used_], s), "recording an event");
    return static_cast<int>(used_++);
  }
  void span(TraceLane lane, TracePhase phase, int unit, int begin, int end) {
    if (on_ && begin >= 0 && end >= 0) pending_.push_back({lane, phase, unit, begin, end});
  }
  std::vector<DeviceSpan> take() {
    std::vector<DeviceSpan> out;
    for (const Pending& p : pending_) {
      check(cudaEventSynchronize(events_[p.end]), "waiting for an event");
      float fromAnchor = 0, length = 0;
      check(cudaEventElapsedTime(&fromAnchor, anchor_, events_[p.begin]), "timing the device timeline");
      check(cudaEventElapsedTime(&length, events_[p.begin], events_[p.end]), "timing the device timeline");
      out.push_back({p.lane, p.phase, p.unit, anchorHostNs_ + static_cast<int64_t>(static_cast<double>(fromAnchor) * 1e6),
                     static_cast<int64_t>(static_cast<double>(length) * 1e6)});
    }
    used_ = 0;
    pending_.clear();
    return out;
  }

 private:
  struct Pending {
    TraceLane lane;
    TracePhase phase;
    int unit;
    int begin, end;
  };
  bool on_ = false;
  std::vector<cudaEvent_t> events_;
  size_t used_ = 0;
  cudaEvent_t anchor_ = nullptr;
  int64_t anchorHostNs_ = 0;
  std::vector<Pending> pending_;
};

constexpr size_t kSlotAlignFloats = 64;  // 256 bytes
size_t padFloats(size_t n) { return (n + kSlotAlignFloats - 1) / kSlotAlignFloats * kSlotAlignFloats; }

class CudaBackend : public Backend {
 public:
  CudaBackend(const ModelSpec& spec, const CudaBackendOptions& options)
      : spec_(spec),
        options_(options),
        memory_(std::make_shared<DeviceMemory>()),
        kv_(memory_, kKvCache),
        ropeCos_(memory_, kActivations),
        ropeSin_(memory_, kActivations),
        finalNorm_(memory_, kWeights),
        x_(memory_, kActivations),
        xn_(memory_, kActivations),
        q_(memory_, kActivations),
        k_(memory_, kActivations),
        v_(memory_, kActivations),
        attn_(memory_, kActivations),
        proj_(memory_, kActivations),
        gate_(memory_, kActivations),
        up_(memory_, kActivations),
        embedRaw_(memory_, kActivations),
        logits_(memory_, kActivations),
        token_(memory_, kActivations) {
    if (spec.headDim > cuda::kMaxHeadDim || spec.headDim % 2 != 0) {
      throw std::invalid_argument("the CUDA backend supports even head_dim up to " + std::to_string(cuda::kMaxHeadDim) +
                                  "; this model has " + std::to_string(spec.headDim));
    }
    check(cudaSetDevice(0), "selecting CUDA device 0");
    check(cudaFree(nullptr), "creating the CUDA context");  // now, so it counts as load time
    cudaDeviceProp props{};
    check(cudaGetDeviceProperties(&props, 0), "reading the device properties");
    deviceName_ = props.name;
    computeCapability_ = std::to_string(props.major) + "." + std::to_string(props.minor);
    size_t freeBytes = 0, totalBytes = 0;
    check(cudaMemGetInfo(&freeBytes, &totalBytes), "reading free device memory");
    freeAtStart_ = freeBytes;
    totalBytes_ = totalBytes;
    check(cudaStreamCreateWithFlags(&compute_, cudaStreamNonBlocking), "creating the compute stream");
    check(cudaStreamCreateWithFlags(&transfer_, cudaStreamNonBlocking), "creating the transfer stream");
    check(cudaEventCreate(&kv0_), "creating an event");
    check(cudaEventCreate(&kv1_), "creating an event");
    if (options.pinMemory) pinned_ = std::make_shared<PinnedAllocator>();
#if RB_HAVE_CUBLAS
    const char* gemm = std::getenv("RABBIT_BENCH_CUDA_GEMM");
    if (!(gemm && std::string(gemm) == "own")) {
      if (cublasCreate(&cublas_) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cuBLAS could not be initialised");
      cublasSetStream(cublas_, compute_);
      cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH);  // true f32, no TF32
    }
#endif
    unitBytes_.assign(static_cast<size_t>(spec.numLayers) + 1, 0);
  }

  ~CudaBackend() override {
    synchronize();
    spares_.clear();
#if RB_HAVE_CUBLAS
    if (cublas_) cublasDestroy(cublas_);
#endif
    if (kv0_) cudaEventDestroy(kv0_);
    if (kv1_) cudaEventDestroy(kv1_);
    if (compute_) cudaStreamDestroy(compute_);
    if (transfer_) cudaStreamDestroy(transfer_);
  }

  std::string name() const override { return "cuda"; }

  BackendCaps caps() const override {
    BackendCaps c;
    c.pipelined = options_.asyncTransfer;
    c.rawEmbedding = true;
    c.deviceArgmax = true;
    return c;
  }

  std::shared_ptr<HostAllocator> hostAllocator() override { return pinned_; }

  void resetCache(int maxTokens) override {
    const uint64_t kvDim = static_cast<uint64_t>(spec_.numKvHeads) * spec_.headDim;
    if (maxTokens > kvTokens_) {
      kv_.ensure(2ull * spec_.numLayers * static_cast<uint64_t>(maxTokens) * kvDim * sizeof(float),
                 "the KV cache (" + std::to_string(spec_.numLayers) + " layers x " + std::to_string(maxTokens) + " positions)");
      kvTokens_ = maxTokens;
    }
    if (maxTokens > ropePositions_) {
      RopeTable table(spec_, maxTokens, options_.fault == Fault::WrongRope);
      const uint64_t bytes = static_cast<uint64_t>(maxTokens) * table.half() * sizeof(float);
      ropeCos_.ensure(bytes, "the RoPE tables");
      ropeSin_.ensure(bytes, "the RoPE tables");
      check(cudaMemcpy(ropeCos_.as<float>(), table.cos(0), bytes, cudaMemcpyHostToDevice), "uploading the RoPE tables");
      check(cudaMemcpy(ropeSin_.as<float>(), table.sin(0), bytes, cudaMemcpyHostToDevice), "uploading the RoPE tables");
      ropePositions_ = maxTokens;
    }
    maxTokens_ = maxTokens;
  }

  void setFinalNorm(const std::vector<float>& weight) override {
    finalNorm_.ensure(weight.size() * sizeof(float), "the final norm");
    check(cudaMemcpy(finalNorm_.as<float>(), weight.data(), weight.size() * sizeof(float), cudaMemcpyHostToDevice),
          "uploading the final norm");
  }

  std::unique_ptr<UnitWeights> createUnit(const HostUnit& host) override {
    size_t arenaFloats = 0;
    for (const HostSlice& s : host.slices) {
      if (s.present && s.dtype != DType::F32) arenaFloats += padFloats(static_cast<size_t>(s.numel));
    }
    const uint64_t stagingBytes = host.bytes.size();
    const uint64_t arenaBytes = arenaFloats * sizeof(float);
    std::unique_ptr<CudaUnitWeights> w = takeSpare(stagingBytes, arenaBytes);
    const std::string what = unitName(host.unit) + " weights";
    w->staging.ensure(stagingBytes, what);
    w->arena.ensure(arenaBytes, what);
    const int copy0 = timeline_.mark(transfer_);
    check(cudaMemcpyAsync(w->staging.as<uint8_t>(), host.bytes.data(), stagingBytes, cudaMemcpyHostToDevice, transfer_),
          "copying " + what + " to the device");
    w->slots.assign(host.slices.size(), nullptr);
    size_t at = 0;
    for (size_t i = 0; i < host.slices.size(); ++i) {
      const HostSlice& s = host.slices[i];
      if (!s.present) continue;
      const uint8_t* src = w->staging.as<uint8_t>() + s.offset;
      if (s.dtype == DType::F32) {
        w->slots[i] = reinterpret_cast<const float*>(src);
      } else {
        float* dst = w->arena.as<float>() + at;
        cuda::convertToF32(srcType(s.dtype), src, dst, static_cast<size_t>(s.numel), transfer_);
        w->slots[i] = dst;
        at += padFloats(static_cast<size_t>(s.numel));
      }
    }
    checkLaunch("the dtype conversion");
    timeline_.span(TraceLane::DeviceCopy, TracePhase::Create, host.unit, copy0, timeline_.mark(transfer_));
    check(cudaEventRecord(w->ready, transfer_), "recording an event");
    // Without asynchronous transfer create_layer covers the whole copy and conversion.
    if (!options_.asyncTransfer) check(cudaStreamSynchronize(transfer_), "copying " + what + " to the device");
    if (host.unit >= 0 && static_cast<size_t>(host.unit) < unitBytes_.size()) unitBytes_[host.unit] = w->deviceBytes();
    return w;
  }

  void releaseUnit(std::unique_ptr<UnitWeights> weights) override {
    std::unique_ptr<CudaUnitWeights> w(static_cast<CudaUnitWeights*>(weights.release()));
    if (spares_.size() < kSpares) spares_.push_back(std::move(w));
  }

  void awaitUnit(const UnitWeights& weights) override {
    check(cudaEventSynchronize(static_cast<const CudaUnitWeights&>(weights).ready), "copying a unit to the device");
  }

  void setHidden(const float* rows, int n, int pos0) override {
    beginStep(n, pos0);
    check(cudaMemcpyAsync(x_.as<float>(), rows, static_cast<size_t>(n) * spec_.hidden * sizeof(float),
                          cudaMemcpyHostToDevice, compute_),
          "uploading the hidden state");
  }

  bool setHiddenRaw(DType dtype, const void* rows, int n, int pos0) override {
    beginStep(n, pos0);
    const uint64_t bytes = static_cast<uint64_t>(n) * spec_.hidden * dtypeBytes(dtype);
    embedRaw_.ensure(bytes, "the embedding rows");
    check(cudaMemcpyAsync(embedRaw_.as<uint8_t>(), rows, bytes, cudaMemcpyHostToDevice, compute_),
          "uploading the embedding rows");
    cuda::embedding(srcType(dtype), embedRaw_.as<void>(), nullptr, n, spec_.hidden, x_.as<float>(), compute_);
    checkLaunch("the embedding lookup");
    return true;
  }

  int64_t forwardLayer(int layer, const UnitWeights& weights) override {
    const auto& w = static_cast<const CudaUnitWeights&>(weights);
    cudaStream_t s = compute_;
    check(cudaStreamWaitEvent(s, w.ready, 0), "waiting for the weights of layer " + std::to_string(layer));
    const int forward0 = timeline_.mark(s);
    const int n = n_, H = spec_.hidden, D = spec_.headDim, heads = spec_.numHeads, kvHeads = spec_.numKvHeads;
    const int Q = heads * D, KV = kvHeads * D, I = spec_.intermediate;
    const float eps = static_cast<float>(spec_.rmsEps);
    float *x = x_.as<float>(), *xn = xn_.as<float>(), *q = q_.as<float>(), *k = k_.as<float>(), *v = v_.as<float>();
    float *attn = attn_.as<float>(), *proj = proj_.as<float>(), *gate = gate_.as<float>(), *up = up_.as<float>();

    cuda::rmsnorm(x, w.at(kInputNorm), n, H, eps, xn, s);
    gemm(xn, n, H, w.at(kQ), Q, w.at(kQBias), q);
    gemm(xn, n, H, w.at(kK), KV, w.at(kKBias), k);
    gemm(xn, n, H, w.at(kV), KV, w.at(kVBias), v);
    if (spec_.qkNorm) {
      cuda::rmsnorm(q, w.at(kQNorm), n * heads, D, eps, q, s);
      cuda::rmsnorm(k, w.at(kKNorm), n * kvHeads, D, eps, k, s);
    }
    // Interleaved Q/K rows (GGUF llama) rotate adjacent pairs, which is the same rotation in that
    // order: q and k carry the same permutation, which no q.k score can see.
    const bool adjacent = (options_.fault == Fault::WrongRope) != spec_.qkRowsInterleaved;
    cuda::rope(q, n, heads, D, Q, pos0_, ropeCos_.as<float>(), ropeSin_.as<float>(), adjacent, s);
    cuda::rope(k, n, kvHeads, D, KV, pos0_, ropeCos_.as<float>(), ropeSin_.as<float>(), adjacent, s);

    float* kCache = kvLayer(layer, 0);
    float* vCache = kvLayer(layer, 1);
    const size_t kvBytes = static_cast<size_t>(n) * KV * sizeof(float);
    check(cudaEventRecord(kv0_, s), "recording an event");
    const int kv0 = timeline_.mark(s);
    check(cudaMemcpyAsync(kCache + static_cast<size_t>(pos0_) * KV, k, kvBytes, cudaMemcpyDeviceToDevice, s), "kv_fill");
    check(cudaMemcpyAsync(vCache + static_cast<size_t>(pos0_) * KV, v, kvBytes, cudaMemcpyDeviceToDevice, s), "kv_fill");
    check(cudaEventRecord(kv1_, s), "recording an event");
    timeline_.span(TraceLane::DeviceCompute, TracePhase::KvFill, layer, kv0, timeline_.mark(s));
    kvTimed_ = true;

    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
    cuda::attention(q, kCache, vCache, attn, n, pos0_, heads, kvHeads, D, spec_.slidingWindow, scale,
                    options_.fault == Fault::BooleanMask, s);
    gemm(attn, n, Q, w.at(kO), H, w.at(kOBias), proj);
    cuda::add(x, proj, static_cast<size_t>(n) * H, s);

    cuda::rmsnorm(x, w.at(kPostNorm), n, H, eps, xn, s);
    gemm(xn, n, H, w.at(kGate), I, w.at(kGateBias), gate);
    gemm(xn, n, H, w.at(kUp), I, w.at(kUpBias), up);
    cuda::swiglu(gate, up, static_cast<size_t>(n) * I, s);
    gemm(gate, n, I, w.at(kDown), H, w.at(kDownBias), proj);
    cuda::add(x, proj, static_cast<size_t>(n) * H, s);
    checkLaunch("the forward of a layer");
    timeline_.span(TraceLane::DeviceCompute, TracePhase::Forward, layer, forward0, timeline_.mark(s));
    // Synchronous mode: the call covers the whole forward, as on the CPU.
    return options_.asyncTransfer ? 0 : finishForward();
  }

  int64_t finishForward() override {
    check(cudaStreamSynchronize(compute_), "running a layer's forward");
    float ms = 0;
    if (kvTimed_) {
      check(cudaEventElapsedTime(&ms, kv0_, kv1_), "timing kv_fill");
      kvTimed_ = false;
    }
    return static_cast<int64_t>(static_cast<double>(ms) * 1e6);
  }

  void computeLogits(const UnitWeights& head, float* logits) override {
    const auto& w = static_cast<const CudaUnitWeights&>(head);
    cudaStream_t s = compute_;
    check(cudaStreamWaitEvent(s, w.ready, 0), "waiting for the lm_head weights");
    const int head0 = timeline_.mark(s);
    const int H = spec_.hidden;
    logits_.ensure(static_cast<uint64_t>(spec_.vocab) * sizeof(float), "the logits");
    cuda::rmsnorm(x_.as<float>() + static_cast<size_t>(n_ - 1) * H, finalNorm_.as<float>(), 1, H,
                  static_cast<float>(spec_.rmsEps), xn_.as<float>(), s);
    gemm(xn_.as<float>(), 1, H, w.at(0), spec_.vocab, nullptr, logits_.as<float>());
    checkLaunch("the lm_head");
    timeline_.span(TraceLane::DeviceCompute, TracePhase::Forward, spec_.numLayers, head0, timeline_.mark(s));
    check(cudaMemcpyAsync(logits, logits_.as<float>(), static_cast<size_t>(spec_.vocab) * sizeof(float),
                          cudaMemcpyDeviceToHost, s),
          "copying the logits to the host");
    check(cudaStreamSynchronize(s), "computing the logits");
  }

  int32_t argmaxLogits() override {
    token_.ensure(sizeof(int32_t), "the sampled token");
    cuda::argmax(logits_.as<float>(), spec_.vocab, token_.as<int32_t>(), compute_);
    checkLaunch("argmax");
    int32_t token = 0;
    check(cudaMemcpyAsync(&token, token_.as<int32_t>(), sizeof(token), cudaMemcpyDeviceToHost, compute_),
          "copying the token to the host");
    check(cudaStreamSynchronize(compute_), "argmax");
    return token;
  }

  void recordDeviceTimeline(bool on) override { timeline_.setOn(on); }
  std::vector<DeviceSpan> takeDeviceSpans() override { return timeline_.take(); }

  void synchronize() override {
    if (compute_) cudaStreamSynchronize(compute_);
    if (transfer_) cudaStreamSynchronize(transfer_);
    cudaGetLastError();
  }

  DeviceStats deviceStats() const override {
    DeviceStats d;
    d.present = true;
    d.name = deviceName_;
    d.computeCapability = computeCapability_;
    d.totalBytes = totalBytes_;
    d.freeAtStartBytes = freeAtStart_;
    d.currentBytes = memory_->current();
    d.peakBytes = memory_->peak();
    d.kvCacheBytes = memory_->of(kKvCache);
    d.activationBytes = memory_->of(kActivations);
    d.unitBytes = unitBytes_;
    d.pinnedHost = options_.pinMemory;
    d.asyncTransfer = options_.asyncTransfer;
#if RB_HAVE_CUBLAS
    d.gemm = cublas_ ? "cublas" : "own kernels";
#else
    d.gemm = "own kernels";
#endif
    return d;
  }

 private:
  static constexpr size_t kSpares = 3;

  std::string unitName(int unit) const {
    return unit == spec_.numLayers ? std::string("lm_head") : "layers." + std::to_string(unit);
  }

  void beginStep(int n, int pos0) {
    if (pos0 + n > maxTokens_) throw std::logic_error("sequence longer than the KV cache");
    timeline_.anchor(compute_);
    n_ = n;
    pos0_ = pos0;
    if (n <= rows_) return;
    const uint64_t r = static_cast<uint64_t>(n), f = sizeof(float);
    const uint64_t H = spec_.hidden, Q = static_cast<uint64_t>(spec_.numHeads) * spec_.headDim;
    const uint64_t KV = static_cast<uint64_t>(spec_.numKvHeads) * spec_.headDim, I = spec_.intermediate;
    const std::string what = "activations of " + std::to_string(n) + " tokens";
    x_.ensure(r * H * f, what);
    xn_.ensure(r * H * f, what);
    q_.ensure(r * Q * f, what);
    k_.ensure(r * KV * f, what);
    v_.ensure(r * KV * f, what);
    attn_.ensure(r * Q * f, what);
    proj_.ensure(r * H * f, what);
    gate_.ensure(r * I * f, what);
    up_.ensure(r * I * f, what);
    rows_ = n;
  }

  float* kvLayer(int layer, int which) const {
    const size_t perLayer = static_cast<size_t>(kvTokens_) * spec_.numKvHeads * spec_.headDim;
    return kv_.as<float>() + (static_cast<size_t>(layer) * 2 + which) * perLayer;
  }

  // A spare that holds both parts and is at most 4x the size needed (so a big lm_head buffer is
  // not spent on a small layer), else a fresh one.
  std::unique_ptr<CudaUnitWeights> takeSpare(uint64_t staging, uint64_t arena) {
    size_t best = spares_.size();
    const uint64_t need = staging + arena;
    for (size_t i = 0; i < spares_.size(); ++i) {
      const auto& s = spares_[i];
      const uint64_t have = s->deviceBytes();
      const bool fits = s->staging.bytes() >= staging && s->arena.bytes() >= arena && have <= 4 * need + (1u << 20);
      if (fits && (best == spares_.size() || have < spares_[best]->deviceBytes())) best = i;
    }
    if (best == spares_.size()) return std::make_unique<CudaUnitWeights>(memory_);
    std::unique_ptr<CudaUnitWeights> out = std::move(spares_[best]);
    spares_.erase(spares_.begin() + static_cast<std::ptrdiff_t>(best));
    return out;
  }

  // Y[n x out] = X W^T (+ bias): cuBLAS where the build has it, the own kernels otherwise.
  void gemm(const float* X, int n, int in, const float* W, int out, const float* bias, float* Y) {
#if RB_HAVE_CUBLAS
    if (cublas_) {
      // Row-major Y[n][out] is column-major Y^T (out x n) = W^T(col) ... i.e. op(W) = T.
      const float one = 1.0f, zero = 0.0f;
      const cublasStatus_t st = cublasSgemm(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, W, in, X, in, &zero, Y, out);
      if (st != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasSgemm failed with status " + std::to_string(static_cast<int>(st)));
      if (bias) cuda::addBias(Y, bias, n, out, compute_);
      return;
    }
#endif
    cuda::gemm(X, n, in, W, out, bias, Y, compute_);
  }

  ModelSpec spec_;
  CudaBackendOptions options_;
  std::shared_ptr<DeviceMemory> memory_;
  std::shared_ptr<HostAllocator> pinned_;
  std::string deviceName_, computeCapability_;
  uint64_t freeAtStart_ = 0, totalBytes_ = 0;
  cudaStream_t compute_ = nullptr, transfer_ = nullptr;
  DeviceTimeline timeline_;
  cudaEvent_t kv0_ = nullptr, kv1_ = nullptr;
  bool kvTimed_ = false;
#if RB_HAVE_CUBLAS
  cublasHandle_t cublas_ = nullptr;
#endif
  DeviceBuffer kv_;
  int kvTokens_ = 0;
  DeviceBuffer ropeCos_, ropeSin_;
  int ropePositions_ = 0;
  int maxTokens_ = 0;
  DeviceBuffer finalNorm_;
  DeviceBuffer x_, xn_, q_, k_, v_, attn_, proj_, gate_, up_, embedRaw_, logits_, token_;
  int rows_ = 0;
  int n_ = 0, pos0_ = 0;
  std::vector<std::unique_ptr<CudaUnitWeights>> spares_;
  std::vector<uint64_t> unitBytes_;
};

}  // namespace

std::unique_ptr<Backend> createCudaBackend(const ModelSpec& spec, const CudaBackendOptions& options) {
  return std::make_unique<CudaBackend>(spec, options);
}

}  // namespace rb
