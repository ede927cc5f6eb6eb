// The small interface a compute backend (CPU, or CUDA from a separately built library)
// implements. The engine owns streaming, timing and sampling; a backend owns weights in compute
// form, the hidden state and the KV cache. Everything past the pure virtual core has a default
// that is what the CPU backend does, so the CPU path runs exactly as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/model.h"
#include "engine/trace.h"

namespace rb {

// Where one tensor of a streamed unit sits in the unit's host buffer.
struct HostSlice {
  bool present = false;
  DType dtype = DType::F32;
  size_t offset = 0;  // into HostUnit::bytes, unless `mapped`
  int64_t numel = 0;
  int64_t rows = 0;  // a matrix's [rows x cols]; 0 for a vector (norm, bias)
  int64_t cols = 0;
  const uint8_t* mapped = nullptr;  // --io mmap: the tensor in the mapped file, read in place
};

// Host memory for streamed units that a backend may supply instead of ordinary pageable memory,
// e.g. page-locked (pinned) memory so host-to-device copies can run asynchronously.
class HostAllocator {
 public:
  virtual ~HostAllocator() = default;
  // Throws (std::bad_alloc or std::runtime_error) when the memory cannot be had.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p, size_t bytes) noexcept = 0;
};

// Pageable memory aligned to `alignment` bytes (O_DIRECT reads need page-aligned buffers).
class AlignedHostAllocator : public HostAllocator {
 public:
  explicit AlignedHostAllocator(size_t alignment) : alignment_(alignment) {}
  void* allocate(size_t bytes) override {
    void* p = std::aligned_alloc(alignment_, (bytes + alignment_ - 1) / alignment_ * alignment_);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p, size_t) noexcept override { std::free(p); }

 private:
  size_t alignment_;
};

// A unit's host buffer. Without an allocator it is a std::vector<uint8_t> (the CPU path, exactly
// as before: resize zero-fills growth); with one, the bytes come from that allocator, growth is
// not zero-filled (the loader overwrites every byte it hands out) and the contents are kept.
class HostBytes {
 public:
  HostBytes() = default;
  explicit HostBytes(std::shared_ptr<HostAllocator> allocator) : allocator_(std::move(allocator)) {}
  HostBytes(const HostBytes&) = delete;
  HostBytes& operator=(const HostBytes&) = delete;
  HostBytes(HostBytes&& o) noexcept { moveFrom(o); }
  HostBytes& operator=(HostBytes&& o) noexcept {
    if (this != &o) {
      release();
      moveFrom(o);
    }
    return *this;
  }
  ~HostBytes() { release(); }

  bool external() const { return allocator_ != nullptr; }
  uint8_t* data() { return allocator_ ? ptr_ : vec_.data(); }
  const uint8_t* data() const { return allocator_ ? ptr_ : vec_.data(); }
  size_t size() const { return allocator_ ? size_ : vec_.size(); }
  size_t capacity() const { return allocator_ ? capacity_ : vec_.capacity(); }
  uint8_t* begin() { return data(); }
  uint8_t* end() { return data() + size(); }

  void resize(size_t n) {
    if (!allocator_) {
      vec_.resize(n);
      return;
    }
    if (n > capacity_) {
      auto* fresh = static_cast<uint8_t*>(allocator_->allocate(n));
      if (size_ > 0) std::memcpy(fresh, ptr_, size_);
      if (ptr_) allocator_->deallocate(ptr_, capacity_);
      ptr_ = fresh;
      capacity_ = n;
    }
    size_ = n;
  }

 private:
  void release() noexcept {
    if (allocator_ && ptr_) allocator_->deallocate(ptr_, capacity_);
    ptr_ = nullptr;
    size_ = capacity_ = 0;
  }
  void moveFrom(HostBytes& o) noexcept {
    vec_ = std::move(o.vec_);
    allocator_ = std::move(o.allocator_);
    ptr_ = o.ptr_;
    size_ = o.size_;
    capacity_ = o.capacity_;
    o.ptr_ = nullptr;
    o.size_ = o.capacity_ = 0;
  }

  std::vector<uint8_t> vec_;
  std::shared_ptr<HostAllocator> allocator_;
  uint8_t* ptr_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// The raw bytes of one streamed unit (a decoder layer, the lm_head, or one routed expert), as read
// from disk.
struct HostUnit {
  int unit = -1;
  HostBytes bytes;
  // layer: indexed by Role, then (whole-layer streaming) each expert's ExpertRoles; head: slot 0
  // is lm_head; expert: indexed by ExpertRole.
  std::vector<HostSlice> slices;
  int64_t loadStartNs = 0;
  int64_t loadNs = 0;
  uint64_t bytesRead = 0;
  // Read by the prefetch thread; false when the compute thread read it itself (no prefetch, or
  // the prefetcher had nothing for it).
  bool loadedInBackground = false;
  const void* data(size_t slot) const {
    return slices[slot].mapped ? slices[slot].mapped : bytes.data() + slices[slot].offset;
  }
};

// Weights of one unit in the backend's compute-ready form.
class UnitWeights {
 public:
  virtual ~UnitWeights() = default;
};

// What a backend can do beyond the core interface; read once when the engine is made. The
// defaults (all false) are the CPU backend: the engine then runs its original code path.
struct BackendCaps {
  // forwardLayer only enqueues work; the engine stages unit u+1 (take + createUnit, which starts
  // an asynchronous copy) while unit u computes, then calls finishForward. awaitUnit blocks
  // until a unit's weights are usable and its host buffer may be reused.
  bool pipelined = false;
  // setHiddenRaw takes the embedding rows as stored (any dtype); the backend converts them.
  bool rawEmbedding = false;
  // argmaxLogits returns the greedy token of the last computeLogits, computed on the device.
  bool deviceArgmax = false;
  // Weights made by createUnit point into the host buffer: the engine keeps the buffer as long
  // as the weights (until releaseUnit, or for good with resident units).
  bool borrowsHostBytes = false;
  // Runs block-quantized (GGUF) weights; a backend without it refuses such plans when the engine
  // is made.
  bool quantizedWeights = false;
  // Runs sparse (mixture-of-experts) layers, taking their experts from setExpertSource's source.
  bool mixtureOfExperts = false;
};

// The weights of one routed expert: the unit that holds them and the slot of its gate matrix
// (up and down follow, in ExpertRole order).
struct ExpertWeights {
  const UnitWeights* unit = nullptr;
  int slot = 0;
};

// Where a sparse layer's experts come from (the engine's expert cache, which reads an expert
// when the router first picks it, or the layer's own unit under whole-layer streaming).
class ExpertSource {
 public:
  virtual ~ExpertSource() = default;
  // Called once per sparse layer and step with the experts its tokens route to (ascending);
  // returns once every one of them is usable, until the next call.
  virtual void require(int layer, const std::vector<int>& experts) = 0;
  virtual ExpertWeights expert(int e) const = 0;
};

// A span a device backend timed on one of its streams, on the host's clock (nowNs).
struct DeviceSpan {
  TraceLane lane;    // DeviceCopy or DeviceCompute
  TracePhase phase;  // Create (copy and widening), Forward (a unit's kernels) or KvFill
  int unit;          // the loader's unit index
  int64_t startNs;
  int64_t durNs;
};

// Device memory of a backend with its own memory (CUDA). Bytes are the backend's allocations.
struct DeviceStats {
  bool present = false;
  std::string name;            // e.g. "NVIDIA H100 80GB HBM3"
  std::string computeCapability;  // e.g. "9.0"
  uint64_t totalBytes = 0;     // device memory
  uint64_t freeAtStartBytes = 0;  // free when the backend was made (after the context)
  uint64_t currentBytes = 0;   // held by the backend now
  uint64_t peakBytes = 0;      // high-water mark of currentBytes
  uint64_t kvCacheBytes = 0;
  uint64_t activationBytes = 0;
  std::vector<uint64_t> unitBytes;  // device bytes of each unit's weights (layers, then lm_head)
  bool pinnedHost = false;
  bool asyncTransfer = false;
  std::string gemm;            // "cublas" or "own kernels"
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual BackendCaps caps() const { return {}; }
  // Page-locked host memory for unit buffers; null: ordinary pageable memory.
  virtual std::shared_ptr<HostAllocator> hostAllocator() { return nullptr; }

  // Sizes the KV cache of every layer for a sequence of up to `maxTokens` positions.
  virtual void resetCache(int maxTokens) = 0;
  virtual void setFinalNorm(const std::vector<float>& weight) = 0;

  // create_layer: host bytes to compute-ready weights.
  virtual std::unique_ptr<UnitWeights> createUnit(const HostUnit& host) = 0;
  // Hands weights back once a streamed unit is done, so buffers can be reused.
  virtual void releaseUnit(std::unique_ptr<UnitWeights> weights) = 0;

  // Sets the hidden state to `n` embedding rows (f32, n x hidden) for positions pos0...
  virtual void setHidden(const float* rows, int n, int pos0) = 0;
  // Runs decoder layer `layer` on the hidden state in place. Returns the nanoseconds spent
  // writing K/V into the cache (kv_fill), which are part of the call's duration.
  virtual int64_t forwardLayer(int layer, const UnitWeights& weights) = 0;
  // Final norm and lm_head on the last position; writes vocab logits.
  virtual void computeLogits(const UnitWeights& head, float* logits) = 0;

  // Optional, see BackendCaps. Only called when the matching capability is set.
  virtual bool setHiddenRaw(DType /*dtype*/, const void* /*rows*/, int /*n*/, int /*pos0*/) { return false; }
  virtual void awaitUnit(const UnitWeights& /*weights*/) {}
  // Waits for the forward enqueued last; returns its kv_fill nanoseconds.
  virtual int64_t finishForward() { return 0; }
  // Where the latest forward's kv_fill began on the host clock (nowNs), for the trace; -1 where
  // it was timed on a device, which has no common clock with the host.
  virtual int64_t kvFillStartNs() const { return -1; }
  virtual int32_t argmaxLogits() { return -1; }
  // Waits for every queued operation (before buffers are dropped on an error).
  virtual void synchronize() {}
  virtual DeviceStats deviceStats() const { return {}; }
  // The activation of the latest forwardLayer or computeLogits that first held NaN or Inf
  // (e.g. "q_proj"), or null. A backend that does not look returns null: the engine checks
  // the logits on the host for every backend.
  virtual const char* nonFiniteActivation() const { return nullptr; }
  // The device's own timeline, for the trace: while on, a device backend times each unit's copy
  // and each forward on its streams, and hands the spans over once the step's work is done.
  virtual void recordDeviceTimeline(bool /*on*/) {}
  virtual std::vector<DeviceSpan> takeDeviceSpans() { return {}; }
  // See BackendCaps::mixtureOfExperts; the source outlives every forwardLayer.
  virtual void setExpertSource(ExpertSource* /*source*/) {}
};

}  // namespace rb
