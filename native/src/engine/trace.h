// The timeline of a generation, when asked for: one span per phase of each unit, on the thread
// that ran it, with start times from the one steady clock. Spans are added on the compute thread
// only: a read done by a prefetch thread keeps its start and length in the buffer it fills, and
// becomes a span when the compute thread takes (or drops) that buffer. So a span records where a
// read really happened, not how prefetch was configured.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/timer.h"

namespace rb {

enum class TracePhase { Load, CpuWait, Create, Forward, KvFill, Sample };
// The units' prefetch thread, the experts' own prefetch thread, and a device backend's transfer
// and compute streams (spans the device timed itself, placed on the host clock).
enum class TraceLane { Compute, Prefetch, ExpertPrefetch, DeviceCopy, DeviceCompute };

struct TraceSpan {
  TracePhase phase;
  TraceLane lane;
  int64_t startNs;  // from the generation's start
  int64_t durNs;
  int unit;         // index in the step's units (0 = embed), -1 for sampling
  int expert;       // routed expert, -1 for none
  uint64_t bytes;
  bool used;        // a read ahead the router then did not pick: false
};

// The names the profile, its tables and the trace file use for the same quantities.
inline const char* phaseName(TracePhase p) {
  switch (p) {
    case TracePhase::Load: return "load_safe_tensor";
    case TracePhase::CpuWait: return "load_safe_tensor_cpu_wait";
    case TracePhase::Create: return "create_layer";
    case TracePhase::Forward: return "forward_per_layer";
    case TracePhase::KvFill: return "kv_fill";
    case TracePhase::Sample: return "sampling";
  }
  return "?";
}

inline const char* laneName(TraceLane l) {
  switch (l) {
    case TraceLane::Compute: return "compute";
    case TraceLane::Prefetch: return "prefetch";
    case TraceLane::ExpertPrefetch: return "expert_prefetch";
    case TraceLane::DeviceCopy: return "device_copy";
    case TraceLane::DeviceCompute: return "device_compute";
  }
  return "?";
}

class Trace {
 public:
  void start(bool on) {
    on_ = on;
    originNs_ = nowNs();
    spans_.clear();
  }
  bool on() const { return on_; }
  int64_t sinceStart(int64_t ns) const { return ns - originNs_; }
  void add(TracePhase phase, TraceLane lane, int64_t startNs, int64_t durNs, int unit, int expert = -1, uint64_t bytes = 0,
           bool used = true) {
    if (on_) spans_.push_back({phase, lane, startNs - originNs_, durNs, unit, expert, bytes, used});
  }
  std::vector<TraceSpan> take() { return std::move(spans_); }

 private:
  bool on_ = false;
  int64_t originNs_ = 0;
  std::vector<TraceSpan> spans_;
};

}  // namespace rb
