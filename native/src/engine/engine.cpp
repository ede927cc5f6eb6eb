#include "engine/engine.h"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "engine/cpu_backend.h"
#include "engine/cuda_loader.h"
#include "engine/device_io.h"
#include "engine/dtype.h"
#include "engine/emulated_backend.h"
#include "engine/finite.h"
#include "engine/timer.h"
#include "engine/worker_pool.h"

namespace rb {
namespace {

uint64_t peakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::vector<float> readTensorF32(CheckpointReader& reader, const TensorRef& t) {
  std::vector<uint8_t> raw(t.bytes);
  reader.read(t.file, t.offset, t.bytes, raw.data());
  std::vector<float> out(static_cast<size_t>(t.numel()));
  convertToF32(t.dtype, raw.data(), out.data(), out.size());
  return out;
}

std::vector<int> sparseLayers(const LoadPlan& plan) {
  std::vector<int> sparse;
  for (size_t l = 0; l < plan.layers.size(); ++l) {
    if (plan.layers[l].sparse()) sparse.push_back(static_cast<int>(l));
  }
  return sparse;
}

std::unique_ptr<Backend> makeBackend(const ModelSpec& spec, const EngineOptions& o) {
  if (o.device == Device::Cuda) {
    CudaBackendOptions cuda;
    cuda.pinMemory = o.pinMemory;
    cuda.asyncTransfer = o.asyncTransfer;
    cuda.fault = o.fault;
    return makeCudaBackend(spec, cuda);
  }
  if (o.emulateDevice) return makeEmulatedDeviceBackend(spec, o.fault);
  return makeCpuBackend(spec, o.fault, false);
}

}  // namespace

Fault parseFault(const std::string& name) {
  if (name.empty() || name == "none") return Fault::None;
  if (name == "boolean-mask") return Fault::BooleanMask;
  if (name == "untied-lm-head") return Fault::UntiedLmHead;
  if (name == "wrong-rope") return Fault::WrongRope;
  if (name == "abort") return Fault::Abort;
  throw std::invalid_argument("unknown fault '" + name + "' (boolean-mask, untied-lm-head, wrong-rope, abort)");
}

Engine::Engine(LoadPlan plan, EngineOptions options)
    : plan_(std::move(plan)),
      options_(options),
      loader_((validatePlan(plan_), plan_), reader_, options.dropAfterRead, options.io, options.expertStreaming),
      source_(loader_, options.prefetch),
      backend_(makeBackend(plan_.spec, options)),
      caps_(backend_->caps()),
      experts_(loader_, *backend_, options.resident ? SIZE_MAX : options.expertCacheBytes, plan_.spec.numLayers,
               sparseLayers(plan_), plan_.spec.moe.numExperts, plan_.spec.moe.topK, options.prefetch) {
  if (!caps_.quantizedWeights) refuseQuantized();
  if (!caps_.mixtureOfExperts && !sparseLayers(plan_).empty()) {
    throw std::invalid_argument("the " + backend_->name() +
                                " backend does not run mixture-of-experts (sparse) layers yet; run the model with --device cpu");
  }
  backend_->setExpertSource(&experts_);
  experts_.setTrace(&trace_);
  if (options.io != IoMode::Pread && (options.device != Device::Cpu || options.emulateDevice)) {
    throw std::invalid_argument(std::string("--io ") + ioModeName(options.io) + " runs on the CPU only: CUDA reads units into its pinned buffers with pread");
  }
  // A CUDA backend reads units into its pinned host memory; the CPU backend has no allocator,
  // except that O_DIRECT needs page-aligned buffers.
  std::shared_ptr<HostAllocator> allocator = backend_->hostAllocator();
  if (!allocator && options.io == IoMode::Direct) allocator = std::make_shared<AlignedHostAllocator>(CheckpointReader::kDirectAlign);
  if (allocator) {
    source_.setHostAllocator(allocator);
    experts_.setHostAllocator(allocator);
  }
  // The final norm is a single vector: it stays resident and is read once, here.
  backend_->setFinalNorm(readTensorF32(reader_, plan_.finalNorm));
  resident_.resize(loader_.numUnits());
  residentHosts_.resize(loader_.numUnits());
}

Engine::~Engine() {
  source_.stop();
}

void Engine::refuseQuantized() const {
  auto refuse = [this](const TensorRef& t, const std::string& name) {
    if (!isQuantized(t.dtype)) return;
    throw std::invalid_argument("the " + backend_->name() + " backend does not run " + dtypeName(t.dtype) +
                                " (block-quantized) weights, which " + name +
                                " has; quantized GGUF files run on the CPU backend (--device cpu)");
  };
  refuse(plan_.embed, "embed_tokens");
  refuse(plan_.lmHead, "lm_head");
  for (size_t l = 0; l < plan_.layers.size(); ++l) {
    for (int r = 0; r < kNumRoles; ++r) {
      if (plan_.layers[l].tensors[r]) refuse(*plan_.layers[l].tensors[r], "layers." + std::to_string(l) + "." + roleName(static_cast<Role>(r)));
    }
    for (size_t e = 0; e < plan_.layers[l].experts.size(); ++e) {
      for (int r = 0; r < kNumExpertRoles; ++r) {
        refuse(plan_.layers[l].experts[e][r], "layers." + std::to_string(l) + ".experts." + std::to_string(e) + "." +
                                                  expertRoleName(static_cast<ExpertRole>(r)));
      }
    }
  }
}

int64_t Engine::processCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void Engine::spinForCalibration(int64_t stepCpuStart) const {
  if (options_.slowdownPercent <= 0) return;
  // X% more CPU time, which is what the gate decides on: every compute thread spins for its
  // share of X% of the CPU time the step used so far. (Spinning on one thread while the step
  // computed on several added only X%/threads.) Wall time grows by at most X%.
  const int threads = computeThreads();
  const double extra = static_cast<double>(processCpuNs() - stepCpuStart) * options_.slowdownPercent / 100.0;
  const int64_t until = nowNs() + static_cast<int64_t>(extra / threads);
  parallelFor(threads, 1, [until](int, int) {
    while (nowNs() < until) {
    }
  });
}

std::vector<int> Engine::unitOrder() const {
  std::vector<int> order;
  for (int u = 0; u < loader_.numUnits(); ++u) {
    if (!resident_[u]) order.push_back(u);
  }
  return order;
}

UnitRecord Engine::embedTokens(const std::vector<int32_t>& tokens, int pos0) {
  // Only the rows of the step's tokens are read: the embedding matrix never stays in memory.
  UnitRecord rec;
  rec.name = "embed";
  const TensorRef& e = plan_.embed;
  const int H = plan_.spec.hidden;
  const size_t rowBytes = storageBytes(e.dtype, H);
  embedBytes_.resize(rowBytes * tokens.size());
  int64_t t0 = nowNs();
  for (size_t i = 0; i < tokens.size(); ++i) {
    reader_.read(e.file, e.offset + static_cast<uint64_t>(tokens[i]) * rowBytes, rowBytes,
                 embedBytes_.data() + i * rowBytes);
  }
  if (options_.dropAfterRead) {
    for (int32_t token : tokens) reader_.dropFromPageCache(e.file, e.offset + static_cast<uint64_t>(token) * rowBytes, rowBytes);
  }
  rec.bytesRead = rowBytes * tokens.size();
  int64_t t1 = nowNs();
  if (caps_.rawEmbedding) {
    // The backend converts the rows itself (on the device, for CUDA).
    backend_->setHiddenRaw(e.dtype, embedBytes_.data(), static_cast<int>(tokens.size()), pos0);
  } else {
    embedRows_.resize(static_cast<size_t>(H) * tokens.size());
    convertToF32(e.dtype, embedBytes_.data(), embedRows_.data(), embedRows_.size());
    if (!allFinite(embedRows_.data(), embedRows_.size())) throw NonFiniteError("NaN or Inf first appeared in embed, in the embed_tokens rows of the step's tokens,");
    backend_->setHidden(embedRows_.data(), static_cast<int>(tokens.size()), pos0);
  }
  int64_t t2 = nowNs();
  rec.loadNs = t1 - t0;
  rec.createNs = t2 - t1;
  trace_.add(TracePhase::Load, TraceLane::Compute, t0, rec.loadNs, 0, -1, rec.bytesRead);
  trace_.add(TracePhase::Create, TraceLane::Compute, t1, rec.createNs, 0);
  return rec;
}

int Engine::stepThreads(size_t stepTokens) const {
  if (options_.threads > 0) return options_.threads;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // A streamed decode step reads as many bytes as it computes on, so the prefetch thread is busy
  // the whole step: give it a core of its own rather than preempting a compute thread, which
  // stalls every parallel loop. Prefill is compute-bound and the prefetcher mostly waits.
  const bool loaderBusy = options_.prefetch && !options_.resident && stepTokens <= kDecodeTokens;
  return loaderBusy && cores > 1 ? cores - 1 : cores;
}

void Engine::refuseNonFinite(int unit, const float* logits) const {
  const char* activation = backend_->nonFiniteActivation();
  if (!activation && unit == loader_.headUnit() && !allFinite(logits, static_cast<size_t>(plan_.spec.vocab))) activation = "lm_head";
  if (activation) throw NonFiniteError("NaN or Inf first appeared in " + unitName(unit) + ", at the output of " + activation + ",");
}

std::string Engine::unitName(int unit) const {
  return unit == loader_.headUnit() ? "lm_head" : "layers." + std::to_string(unit);
}

StepRecord Engine::beginStep(const std::vector<int32_t>& tokens, int pos0, StepClocks& clocks) {
  if (options_.fault == Fault::Abort) std::abort();
  StepRecord step;
  step.tokens = static_cast<int>(tokens.size());
  step.position = pos0;
  clocks.wallNs = nowNs();
  step.startNs = trace_.sinceStart(clocks.wallNs);
  clocks.cpuNs = options_.slowdownPercent > 0 ? processCpuNs() : 0;
  step.units.push_back(embedTokens(tokens, pos0));
  return step;
}

std::vector<TraceSpan> Engine::takeSpans() {
  if (trace_.on()) {
    for (const DeviceSpan& d : backend_->takeDeviceSpans()) trace_.add(d.phase, d.lane, d.startNs, d.durNs, stepUnit(d.unit));
  }
  return trace_.take();
}

void Engine::finishStep(StepRecord& step, const StepClocks& clocks) {
  step.wallNs = nowNs() - clocks.wallNs;
  step.peakRssBytes = peakRssBytes();
  const std::optional<uint64_t> device = deviceReadBytes();
  if (device && deviceBytesMark_) step.deviceBytesRead = static_cast<int64_t>(*device - *deviceBytesMark_);
  deviceBytesMark_ = device;
}

std::unique_ptr<UnitWeights> Engine::takeUnit(int unit, UnitRecord& rec, HostUnit& host) {
  int64_t waitStartNs = 0;
  host = source_.take(unit, rec.cpuWaitNs, waitStartNs);
  rec.loadNs = host.loadNs;
  rec.bytesRead = host.bytesRead;
  rec.loadInBackground = host.loadedInBackground;
  const int at = stepUnit(unit);
  trace_.add(TracePhase::Load, host.loadedInBackground ? TraceLane::Prefetch : TraceLane::Compute, host.loadStartNs, host.loadNs, at, -1, host.bytesRead);
  if (rec.cpuWaitNs > 0) trace_.add(TracePhase::CpuWait, TraceLane::Compute, waitStartNs, rec.cpuWaitNs, at);
  if (unit == loader_.headUnit() && options_.fault == Fault::UntiedLmHead) std::fill(host.bytes.begin(), host.bytes.end(), 0);
  const int64_t c0 = nowNs();
  std::unique_ptr<UnitWeights> weights = backend_->createUnit(host);
  rec.createNs = nowNs() - c0;
  trace_.add(TracePhase::Create, TraceLane::Compute, c0, rec.createNs, at);
  return weights;
}

void Engine::traceForward(int unit, int64_t startNs, int64_t durNs, int64_t kvFillNs) {
  if (!trace_.on()) return;
  trace_.add(TracePhase::Forward, TraceLane::Compute, startNs, durNs, stepUnit(unit));
  const int64_t kvStart = backend_->kvFillStartNs();
  if (kvFillNs > 0 && kvStart >= 0) trace_.add(TracePhase::KvFill, TraceLane::Compute, kvStart, kvFillNs, stepUnit(unit));
}

int64_t Engine::forwardLayer(int u, const UnitWeights& weights, UnitRecord& rec) {
  if (!plan_.layers[u].sparse()) return backend_->forwardLayer(u, weights);
  rec.experts.emplace();
  experts_.beginLayer(u, loader_.expertUnit(u, 0) < 0 ? &weights : nullptr, &*rec.experts);
  const int64_t kvFillNs = backend_->forwardLayer(u, weights);
  experts_.endLayer();
  return kvFillNs;
}

StepRecord Engine::runStep(const std::vector<int32_t>& tokens, int pos0, float* logits) {
  setComputeThreads(stepThreads(tokens.size()));
  if (caps_.pipelined) return runStepPipelined(tokens, pos0, logits);
  StepClocks clocks;
  StepRecord step = beginStep(tokens, pos0, clocks);
  const int head = loader_.headUnit();
  for (int u = 0; u < loader_.numUnits(); ++u) {
    UnitRecord rec;
    rec.name = unitName(u);
    std::unique_ptr<UnitWeights> owned;
    HostUnit host;
    const UnitWeights* weights = resident_[u].get();
    if (!weights) {
      owned = takeUnit(u, rec, host);
      weights = owned.get();
    }
    const int64_t f0 = nowNs();
    if (u == head) {
      backend_->computeLogits(*weights, logits);
      spinForCalibration(clocks.cpuNs);
    } else {
      rec.kvFillNs = forwardLayer(u, *weights, rec);
    }
    const int64_t f1 = nowNs();
    rec.forwardNs = f1 - f0 - rec.kvFillNs;
    traceForward(u, f0, f1 - f0, rec.kvFillNs);
    if (rec.experts) rec.forwardNs -= rec.experts->loadNs + rec.experts->waitNs + rec.experts->createNs;
    refuseNonFinite(u, logits);
    if (owned) {
      if (options_.resident) {
        resident_[u] = std::move(owned);
      } else {
        backend_->releaseUnit(std::move(owned));
      }
      // Only now: the weights may read the host buffer in place. A resident unit keeps it (no
      // copy of the weights exists); a streamed one returns it, which costs no overlap: the
      // prefetcher already holds the next units' buffers.
      if (options_.resident && caps_.borrowsHostBytes) {
        residentHosts_[u] = std::move(host);
      } else {
        source_.giveBack(std::move(host));
      }
    }
    step.units.push_back(std::move(rec));
  }
  finishStep(step, clocks);
  return step;
}

// The step of a pipelined backend (CUDA with asynchronous transfer). Unit u+1 is staged (taken
// from the prefetcher and its host-to-device copy started on the transfer stream) while unit u's
// forward runs on the compute stream; then the forward is waited for. The phases keep their
// meaning: cpu_wait is the wait for the prefetcher, create_layer the time to start the copy plus
// the wait for whatever of it did not hide behind the previous forward, forward_per_layer the
// rest of the unit's window (staging the next unit is not counted in it), kv_fill the device
// time of the K/V write. So the foreground phases still add up to at most the step's wall time.
StepRecord Engine::runStepPipelined(const std::vector<int32_t>& tokens, int pos0, float* logits) {
  StepClocks clocks;
  StepRecord step = beginStep(tokens, pos0, clocks);
  const int head = loader_.headUnit();
  const int count = loader_.numUnits();
  std::vector<UnitRecord> recs(count);
  for (int u = 0; u < count; ++u) recs[u].name = unitName(u);

  struct Staged {
    HostUnit host;
    std::unique_ptr<UnitWeights> owned;
  };
  Staged current, next;
  auto stage = [&](int u, Staged& s) { s.owned = takeUnit(u, recs[u], s.host); };
  try {
    if (!resident_[0]) stage(0, current);
    for (int u = 0; u < count; ++u) {
      UnitRecord& rec = recs[u];
      const UnitWeights* weights = resident_[u].get();
      if (!weights) {
        const int64_t w0 = nowNs();
        backend_->awaitUnit(*current.owned);  // the copy is done: the host buffer may be reused
        rec.createNs += nowNs() - w0;
        trace_.add(TracePhase::Create, TraceLane::Compute, w0, nowNs() - w0, stepUnit(u));
        source_.giveBack(std::move(current.host));
        weights = current.owned.get();
      }
      const int64_t f0 = nowNs();
      int64_t staging = 0;
      if (u == head) {
        backend_->computeLogits(*weights, logits);
        spinForCalibration(clocks.cpuNs);
      } else {
        backend_->forwardLayer(u, *weights);
        if (u + 1 < count && !resident_[u + 1]) {
          const int64_t s0 = nowNs();
          stage(u + 1, next);
          staging = nowNs() - s0;
        }
        rec.kvFillNs = backend_->finishForward();
      }
      const int64_t window = std::max<int64_t>(0, nowNs() - f0 - staging);
      rec.kvFillNs = std::min(rec.kvFillNs, window);
      rec.forwardNs = window - rec.kvFillNs;
      // Staging the next unit ran inside this window on the same thread: the span is the
      // window, and the next unit's load and create spans sit within it.
      traceForward(u, f0, window + staging, u == head ? 0 : rec.kvFillNs);
      refuseNonFinite(u, logits);
      if (current.owned) {
        if (options_.resident) {
          resident_[u] = std::move(current.owned);
        } else {
          backend_->releaseUnit(std::move(current.owned));
        }
      }
      current = std::move(next);
      next = Staged{};
    }
  } catch (...) {
    // Copies may still read host buffers that are about to be freed: let the device finish.
    backend_->synchronize();
    throw;
  }
  for (UnitRecord& rec : recs) step.units.push_back(std::move(rec));
  finishStep(step, clocks);
  return step;
}

StepRecord Engine::runStepNamed(const std::vector<int32_t>& tokens, int pos0, float* logits, size_t index) {
  try {
    return runStep(tokens, pos0, logits);
  } catch (const NonFiniteError& e) {
    const std::string which = index == 0 ? "the prefill of " + std::to_string(tokens.size()) + " tokens"
                                         : "decode step " + std::to_string(index) + " (position " + std::to_string(pos0) + ")";
    throw NonFiniteError(std::string(e.what()) + " during " + which +
                         ": the weights it reads hold NaN or Inf (or it was fed them), so any output would be wrong");
  }
}

GenerateResult Engine::generate(const GenerateRequest& request, const std::function<void(int32_t)>& onToken) {
  const ModelSpec& spec = plan_.spec;
  if (request.prompt.empty()) throw std::invalid_argument("the prompt is empty");
  if (request.maxNewTokens < 0) throw std::invalid_argument("max new tokens must be >= 0");
  const int promptLen = static_cast<int>(request.prompt.size());
  if (promptLen > spec.maxPositions) {
    throw std::invalid_argument("the prompt has " + std::to_string(promptLen) +
                                " tokens, more than the model's max_position_embeddings (" +
                                std::to_string(spec.maxPositions) + ")");
  }
  for (int32_t id : request.prompt) {
    if (id < 0 || id >= spec.vocab) {
      throw std::invalid_argument("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                                  std::to_string(spec.vocab) + ")");
    }
  }
  Sampler sampler(request.sampling);
  // Like transformers, decoding may run past max_position_embeddings (RoPE has no hard limit);
  // only a prompt that does not fit is refused.
  const int maxTokens = promptLen + std::max(request.maxNewTokens, 1);
  backend_->resetCache(maxTokens);

  GenerateResult result;
  std::vector<int32_t> context = request.prompt;
  std::vector<float> logits(spec.vocab);
  deviceBytesMark_ = deviceReadBytes();
  // Resident experts stay for the engine's life; a streamed generation starts with none cached,
  // so every generation measures the same thing.
  if (!options_.resident) experts_.clear();
  trace_.start(request.trace);
  backend_->recordDeviceTimeline(request.trace);
  source_.start(unitOrder(), !options_.resident);
  struct StopSource {
    LayerSource& s;
    ~StopSource() { s.stop(); }
  } stopOnExit{source_};

  std::vector<int32_t> input = request.prompt;
  int pos = 0;
  bool prefill = true;
  result.stopReason = "max_new_tokens";
  while (static_cast<int>(result.tokens.size()) < request.maxNewTokens) {
    StepRecord step = runStepNamed(input, pos, logits.data(), result.steps.size());
    step.prefill = prefill;
    pos += static_cast<int>(input.size());
    if (request.logits == LogitsMode::EveryStep || (prefill && request.logits == LogitsMode::Prefill)) {
      result.logits.push_back(logits);
    }
    const int64_t s0 = nowNs();
    // Greedy without a repetition penalty is a plain argmax, which a device backend computes
    // where the logits are; anything else goes through the host sampler on every backend.
    const int32_t token = caps_.deviceArgmax && request.sampling.greedy && request.sampling.repetitionPenalty == 1.0f
                              ? backend_->argmaxLogits()
                              : sampler.next(logits.data(), spec.vocab, context);
    step.sampleNs = nowNs() - s0;
    trace_.add(TracePhase::Sample, TraceLane::Compute, s0, step.sampleNs, -1);
    step.spans = takeSpans();
    result.steps.push_back(std::move(step));
    prefill = false;
    result.tokens.push_back(token);
    context.push_back(token);
    if (onToken) onToken(token);
    if (request.stopOnEos && std::find(request.eosTokenIds.begin(), request.eosTokenIds.end(), token) !=
                                 request.eosTokenIds.end()) {
      result.stopReason = "eos";
      break;
    }
    input.assign(1, token);
  }
  if (request.maxNewTokens == 0 && request.logits != LogitsMode::None) {
    StepRecord step = runStepNamed(input, pos, logits.data(), 0);
    step.prefill = true;
    step.spans = takeSpans();
    result.steps.push_back(std::move(step));
    result.logits.push_back(logits);
  }
  result.device = backend_->deviceStats();
  return result;
}

}  // namespace rb
