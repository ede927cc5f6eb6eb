#include "engine/emulated_backend.h"

#include <cstdlib>
#include <new>
#include <stdexcept>

#include "engine/cpu_backend.h"
#include "engine/dtype.h"
#include "engine/sampler.h"
#include "engine/timer.h"

namespace rb {
namespace {

// Stands in for pinned memory: malloc'd, never zero-filled, like cudaHostAlloc.
class MallocAllocator : public HostAllocator {
 public:
  void* allocate(size_t bytes) override {
    void* p = std::malloc(bytes ? bytes : 1);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p, size_t /*bytes*/) noexcept override { std::free(p); }
};

class EmulatedDeviceBackend : public Backend {
 public:
  EmulatedDeviceBackend(const ModelSpec& spec, Fault fault)
      : inner_(makeCpuBackend(spec, fault, true)), hidden_(spec.hidden), vocab_(spec.vocab), headUnit_(spec.numLayers),
        units_(static_cast<size_t>(spec.numLayers) + 1, 0) {}

  std::string name() const override { return "cpu (emulated device)"; }
  BackendCaps caps() const override { return BackendCaps{true, true, true}; }
  std::shared_ptr<HostAllocator> hostAllocator() override { return allocator_; }
  void resetCache(int maxTokens) override { inner_->resetCache(maxTokens); }
  void setFinalNorm(const std::vector<float>& weight) override { inner_->setFinalNorm(weight); }

  std::unique_ptr<UnitWeights> createUnit(const HostUnit& host) override {
    if (!host.bytes.external()) throw std::logic_error("emulated device: unit buffer not from the backend's allocator");
    if (host.unit >= 0 && static_cast<size_t>(host.unit) < units_.size()) units_[host.unit] = host.bytes.size();
    const int64_t t0 = nowNs();
    std::unique_ptr<UnitWeights> w = inner_->createUnit(host);
    record(TraceLane::DeviceCopy, TracePhase::Create, host.unit, t0);
    return w;
  }
  void releaseUnit(std::unique_ptr<UnitWeights> weights) override { inner_->releaseUnit(std::move(weights)); }
  void setHidden(const float* rows, int n, int pos0) override { inner_->setHidden(rows, n, pos0); }

  bool setHiddenRaw(DType dtype, const void* rows, int n, int pos0) override {
    rows_.resize(static_cast<size_t>(n) * hidden_);
    convertToF32(dtype, rows, rows_.data(), rows_.size());
    inner_->setHidden(rows_.data(), n, pos0);
    return true;
  }

  int64_t forwardLayer(int layer, const UnitWeights& weights) override {
    if (pending_) throw std::logic_error("emulated device: forwardLayer before finishForward");
    const int64_t t0 = nowNs();
    kvFillNs_ = inner_->forwardLayer(layer, weights);
    record(TraceLane::DeviceCompute, TracePhase::Forward, layer, t0);
    if (timeline_ && kvFillNs_ > 0) spans_.push_back({TraceLane::DeviceCompute, TracePhase::KvFill, layer, inner_->kvFillStartNs(), kvFillNs_});
    pending_ = true;
    return 0;
  }
  int64_t kvFillStartNs() const override { return inner_->kvFillStartNs(); }
  int64_t finishForward() override {
    if (!pending_) throw std::logic_error("emulated device: finishForward without a forward");
    pending_ = false;
    return kvFillNs_;
  }
  void computeLogits(const UnitWeights& head, float* logits) override {
    const int64_t t0 = nowNs();
    inner_->computeLogits(head, logits);
    record(TraceLane::DeviceCompute, TracePhase::Forward, headUnit_, t0);
    logits_ = logits;
    vocabLogits_ = true;
  }
  int32_t argmaxLogits() override {
    if (!vocabLogits_) throw std::logic_error("emulated device: argmax before logits");
    return argmax(logits_, vocab_);
  }
  // The emulated streams are the host's own work: each span is where the CPU backend did it.
  void recordDeviceTimeline(bool on) override {
    timeline_ = on;
    spans_.clear();
  }
  std::vector<DeviceSpan> takeDeviceSpans() override { return std::exchange(spans_, {}); }
  DeviceStats deviceStats() const override {
    DeviceStats d;
    d.present = true;
    d.name = "emulated device (CPU)";
    d.computeCapability = "0.0";
    d.unitBytes = units_;
    for (uint64_t b : units_) d.peakBytes = b > d.peakBytes ? b : d.peakBytes;
    d.pinnedHost = true;
    d.asyncTransfer = true;
    d.gemm = "cpu";
    return d;
  }
 private:
  void record(TraceLane lane, TracePhase phase, int unit, int64_t startNs) {
    if (timeline_) spans_.push_back({lane, phase, unit, startNs, nowNs() - startNs});
  }

  std::unique_ptr<Backend> inner_;
  std::shared_ptr<HostAllocator> allocator_ = std::make_shared<MallocAllocator>();
  int hidden_;
  int vocab_;
  int headUnit_;
  std::vector<uint64_t> units_;
  bool timeline_ = false;
  std::vector<DeviceSpan> spans_;
  std::vector<float> rows_;
  const float* logits_ = nullptr;
  bool vocabLogits_ = false;
  bool pending_ = false;
  int64_t kvFillNs_ = 0;
};

}  // namespace

std::unique_ptr<Backend> makeEmulatedDeviceBackend(const ModelSpec& spec, Fault fault) {
  return std::make_unique<EmulatedDeviceBackend>(spec, fault);
}

}  // namespace rb
