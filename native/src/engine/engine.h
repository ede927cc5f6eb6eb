// The layer-streaming engine: embed -> each decoder layer -> final norm + lm_head, with every
// layer read from disk just before use (or kept after first load with `resident`), a KV cache,
// sampling, and per-step, per-unit timing records.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/fault.h"
#include "engine/checkpoint_reader.h"
#include "engine/expert_cache.h"
#include "engine/layer_source.h"
#include "engine/sampler.h"
#include "engine/trace.h"

namespace rb {

enum class Device { Cpu, Cuda };

struct EngineOptions {
  Device device = Device::Cpu;
  // CUDA only (ignored on CPU): unit buffers in page-locked host memory, and host-to-device
  // copies on a transfer stream that overlap the previous unit's forward.
  bool pinMemory = true;
  bool asyncTransfer = true;
  // Test-only: the CPU backend behind the device-backend code paths (see emulated_backend.h).
  bool emulateDevice = false;
  bool prefetch = true;
  bool resident = false;
  // --cold=step: every unit (and every embedding row) leaves the page cache right after it is
  // read, so each step reads the disk, as it does for a model larger than RAM. Off: the page
  // cache keeps whatever the kernel keeps.
  bool dropAfterRead = false;
  // How streamed units are read (see IoMode). mmap and direct: CPU backend only.
  IoMode io = IoMode::Pread;
  // Sparse layers: each routed expert is read when the router picks it and kept in an LRU cache of
  // expertCacheBytes (resident: every expert read stays). Off: a layer unit holds all its experts,
  // which is what whole-layer streaming reads.
  bool expertStreaming = true;
  size_t expertCacheBytes = 0;
  // Compute threads. 0: one per hardware thread, except in streamed decode steps with prefetch,
  // which leave one core to the prefetch thread.
  int threads = 0;
  Fault fault = Fault::None;
  // Calibration only: each step spins until it has used this percentage more CPU time, so the
  // gate's detection rate can be measured against a known slowdown.
  double slowdownPercent = 0;
};

// Timings of one unit within one step. Durations in nanoseconds. `forwardNs` excludes
// `kvFillNs`, so the foreground phases of a step add up to at most its wall time.
struct UnitRecord {
  std::string name;  // "embed", "layers.N", "lm_head"
  int64_t loadNs = 0;
  uint64_t bytesRead = 0;
  int64_t cpuWaitNs = 0;
  int64_t createNs = 0;
  int64_t forwardNs = 0;
  int64_t kvFillNs = 0;
  bool loadInBackground = false;  // read by the prefetch thread, overlapping compute
  // A sparse layer's experts; their reads and create_layer happen inside the forward and are not
  // counted in forwardNs.
  std::optional<ExpertRecord> experts;
};

struct StepRecord {
  bool prefill = false;
  int tokens = 0;
  int position = 0;  // position of the step's first token
  int64_t wallNs = 0;
  int64_t sampleNs = 0;
  uint64_t peakRssBytes = 0;
  // Bytes the process had read from block devices since the previous step ended (the prefetch
  // thread's reads for the next step included): the rest of the units' bytesRead came from the
  // page cache. -1 where the kernel does not count them.
  int64_t deviceBytesRead = -1;
  std::vector<UnitRecord> units;
  int64_t startNs = 0;  // from the generation's start
  // With GenerateRequest::trace: the step's timeline, sampling included.
  std::vector<TraceSpan> spans;
};

enum class LogitsMode { None, Prefill, EveryStep };

struct GenerateRequest {
  std::vector<int32_t> prompt;
  int maxNewTokens = 16;
  SamplingOptions sampling;
  std::vector<int32_t> eosTokenIds;
  bool stopOnEos = true;
  LogitsMode logits = LogitsMode::None;
  bool trace = false;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated only
  std::vector<std::vector<float>> logits;
  std::vector<StepRecord> steps;
  std::string stopReason;  // "max_new_tokens" or "eos"
  DeviceStats device;      // present only for a backend with device memory (CUDA)
};

class Engine {
 public:
  Engine(LoadPlan plan, EngineOptions options);
  ~Engine();
  const LoadPlan& plan() const { return plan_; }
  const EngineOptions& options() const { return options_; }
  std::string backendName() const { return backend_->name(); }

  GenerateResult generate(const GenerateRequest& request, const std::function<void(int32_t)>& onToken);

 private:
  StepRecord runStep(const std::vector<int32_t>& tokens, int pos0, float* logits);
  StepRecord runStepPipelined(const std::vector<int32_t>& tokens, int pos0, float* logits);
  // runStep, with a NonFiniteError's message naming the step (`index` in the generation).
  StepRecord runStepNamed(const std::vector<int32_t>& tokens, int pos0, float* logits, size_t index);
  // Throws NonFiniteError when unit `unit` (its activations, or the logits of the lm_head) held NaN or Inf.
  void refuseNonFinite(int unit, const float* logits) const;
  UnitRecord embedTokens(const std::vector<int32_t>& tokens, int pos0);
  // Start times of a step: wall, and process CPU (only when the calibration knob needs it).
  struct StepClocks {
    int64_t wallNs = 0;
    int64_t cpuNs = 0;
  };
  // What every step starts and ends with: the abort fault, the record, the embedding; the wall
  // time and peak RSS.
  StepRecord beginStep(const std::vector<int32_t>& tokens, int pos0, StepClocks& clocks);
  void finishStep(StepRecord& step, const StepClocks& clocks);
  std::string unitName(int unit) const;
  // A loader unit's index among the step's units, where the embedding is unit 0.
  static int stepUnit(int unit) { return unit + 1; }
  // forward_per_layer's span (the unit's whole window) and, within it, kv_fill's.
  void traceForward(int unit, int64_t startNs, int64_t durNs, int64_t kvFillNs);
  // The step's spans, with the ones a device backend timed on its own streams.
  std::vector<TraceSpan> takeSpans();
  // load_safe_tensor (taken from the prefetcher) and create_layer of a streamed unit, recorded
  // in `rec`; `host` receives the buffer, which borrowing weights read in place.
  std::unique_ptr<UnitWeights> takeUnit(int unit, UnitRecord& rec, HostUnit& host);
  // Calibration knob: spins for slowdownPercent of the time since `stepStart`.
  void spinForCalibration(int64_t stepCpuStart) const;
  static int64_t processCpuNs();
  // Compute threads for a step of `stepTokens` tokens (see EngineOptions::threads).
  int stepThreads(size_t stepTokens) const;
  static constexpr size_t kDecodeTokens = 8;
  std::vector<int> unitOrder() const;
  // Throws naming the first block-quantized tensor, for a backend that cannot run them.
  void refuseQuantized() const;
  // Runs decoder layer `u`, with its experts from the cache or its own unit; returns kv_fill.
  int64_t forwardLayer(int u, const UnitWeights& weights, UnitRecord& rec);

  LoadPlan plan_;
  EngineOptions options_;
  CheckpointReader reader_;
  UnitLoader loader_;
  LayerSource source_;
  std::unique_ptr<Backend> backend_;
  BackendCaps caps_;
  ExpertCache experts_;
  Trace trace_;
  std::vector<std::unique_ptr<UnitWeights>> resident_;
  // Host buffers that resident units' weights read in place (backends that borrow host bytes).
  std::vector<HostUnit> residentHosts_;
  // Device bytes read when the previous step ended (or the generation began).
  std::optional<uint64_t> deviceBytesMark_;
  std::vector<uint8_t> embedBytes_;
  std::vector<float> embedRows_;
};

}  // namespace rb
