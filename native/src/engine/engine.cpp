#include "engine/engine.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "engine/cpu_backend.h"
#include "engine/dtype.h"
#include "engine/timer.h"

#ifdef _OPENMP
#include <omp.h>
#endif

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
      loader_((validatePlan(plan_), plan_), reader_),
      source_(loader_, options.prefetch),
      backend_(makeCpuBackend(plan_.spec, options.fault)) {
  // The final norm is a single vector: it stays resident and is read once, here.
  backend_->setFinalNorm(readTensorF32(reader_, plan_.finalNorm));
  resident_.resize(loader_.numUnits());
}

Engine::~Engine() { source_.stop(); }

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
  const size_t rowBytes = static_cast<size_t>(H) * dtypeSize(e.dtype);
  embedBytes_.resize(rowBytes * tokens.size());
  int64_t t0 = nowNs();
  for (size_t i = 0; i < tokens.size(); ++i) {
    reader_.read(e.file, e.offset + static_cast<uint64_t>(tokens[i]) * rowBytes, rowBytes,
                 embedBytes_.data() + i * rowBytes);
  }
  rec.bytesRead = rowBytes * tokens.size();
  int64_t t1 = nowNs();
  embedRows_.resize(static_cast<size_t>(H) * tokens.size());
  convertToF32(e.dtype, embedBytes_.data(), embedRows_.data(), embedRows_.size());
  backend_->setHidden(embedRows_.data(), static_cast<int>(tokens.size()), pos0);
  int64_t t2 = nowNs();
  rec.loadNs = t1 - t0;
  rec.createNs = t2 - t1;
  return rec;
}

StepRecord Engine::runStep(const std::vector<int32_t>& tokens, int pos0, float* logits) {
  if (options_.fault == Fault::Abort) std::abort();
  StepRecord step;
  step.tokens = static_cast<int>(tokens.size());
  step.position = pos0;
  const int64_t start = nowNs();
  step.units.push_back(embedTokens(tokens, pos0));
  const int head = loader_.headUnit();
  for (int u = 0; u < loader_.numUnits(); ++u) {
    UnitRecord rec;
    rec.name = u == head ? "lm_head" : "layers." + std::to_string(u);
    std::unique_ptr<UnitWeights> owned;
    const UnitWeights* weights = resident_[u].get();
    if (!weights) {
      HostUnit host = source_.take(u, rec.cpuWaitNs);
      rec.loadNs = host.loadNs;
      rec.bytesRead = host.bytesRead;
      rec.loadInBackground = options_.prefetch;
      if (u == head && options_.fault == Fault::UntiedLmHead) std::fill(host.bytes.begin(), host.bytes.end(), 0);
      const int64_t c0 = nowNs();
      owned = backend_->createUnit(host);
      rec.createNs = nowNs() - c0;
      source_.giveBack(std::move(host));
      weights = owned.get();
    }
    const int64_t f0 = nowNs();
    if (u == head) {
      backend_->computeLogits(*weights, logits);
      if (options_.slowdownPercent > 0) {
        const int64_t until = nowNs() + static_cast<int64_t>((nowNs() - start) * options_.slowdownPercent / 100.0);
        while (nowNs() < until) {
        }
      }
    } else {
      rec.kvFillNs = backend_->forwardLayer(u, *weights);
    }
    rec.forwardNs = nowNs() - f0 - rec.kvFillNs;
    if (owned) {
      if (options_.resident) {
        resident_[u] = std::move(owned);
      } else {
        backend_->releaseUnit(std::move(owned));
      }
    }
    step.units.push_back(std::move(rec));
  }
  step.wallNs = nowNs() - start;
  step.peakRssBytes = peakRssBytes();
  return step;
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
  const int threads = options_.threads > 0 ? options_.threads
                                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#ifdef _OPENMP
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
  // Like transformers, decoding may run past max_position_embeddings (RoPE has no hard limit);
  // only a prompt that does not fit is refused.
  const int maxTokens = promptLen + std::max(request.maxNewTokens, 1);
  backend_->resetCache(maxTokens);

  GenerateResult result;
  std::vector<int32_t> context = request.prompt;
  std::vector<float> logits(spec.vocab);
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
    StepRecord step = runStep(input, pos, logits.data());
    step.prefill = prefill;
    pos += static_cast<int>(input.size());
    if (request.logits == LogitsMode::EveryStep || (prefill && request.logits == LogitsMode::Prefill)) {
      result.logits.push_back(logits);
    }
    const int64_t s0 = nowNs();
    const int32_t token = sampler.next(logits.data(), spec.vocab, context);
    step.sampleNs = nowNs() - s0;
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
    StepRecord step = runStep(input, pos, logits.data());
    step.prefill = true;
    result.steps.push_back(std::move(step));
    result.logits.push_back(logits);
  }
  return result;
}

}  // namespace rb
