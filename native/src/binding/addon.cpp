// N-API binding: converts JS values to engine structs and back. No engine logic lives here.
#include <array>
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>

#include "engine/build_info.h"
#include "engine/cpu_kernels.h"
#include "engine/cuda_loader.h"
#include "engine/finite.h"
#include "engine/dtype.h"
#include "engine/engine.h"
#include "engine/timer.h"
#include "quant/quantize.h"
#include "sysbench/disk_bandwidth.h"
#include "sysbench/memory_bandwidth.h"
#include "sysbench/page_cache.h"

namespace {

using rb::DType;

std::string getString(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw std::invalid_argument(std::string("plan field '") + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

double getNumber(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw std::invalid_argument(std::string("field '") + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

double getNumberOr(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

// A JS number as an int in [min, max]: a value that would not survive the narrowing (2^32 + 16
// would become 16) is refused, never wrapped.
int toInt(double v, const std::string& what, int min = 0, int max = std::numeric_limits<int32_t>::max()) {
  if (!(v >= min && v <= max) || std::floor(v) != v) {
    throw std::invalid_argument(what + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                                ", not " + std::to_string(v));
  }
  return static_cast<int>(v);
}

bool getBoolOr(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

Napi::Object getObject(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsObject()) throw std::invalid_argument(std::string("field '") + key + "' must be an object");
  return v.As<Napi::Object>();
}

rb::TensorRef toTensor(const Napi::Object& o) {
  rb::TensorRef t;
  t.file = getString(o, "file");
  t.offset = static_cast<uint64_t>(getNumber(o, "offset"));
  t.bytes = static_cast<uint64_t>(getNumber(o, "bytes"));
  t.dtype = rb::dtypeFromName(getString(o, "dtype"));
  Napi::Value shape = o.Get("shape");
  if (!shape.IsArray()) throw std::invalid_argument("tensor shape must be an array");
  auto arr = shape.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    t.shape.push_back(static_cast<int64_t>(arr.Get(i).As<Napi::Number>().Int64Value()));
  }
  return t;
}

rb::ModelSpec toSpec(const Napi::Object& s) {
  rb::ModelSpec spec;
  spec.hidden = toInt(getNumber(s, "hiddenSize"), "spec.hiddenSize", 1);
  spec.intermediate = toInt(getNumber(s, "intermediateSize"), "spec.intermediateSize", 1);
  spec.numLayers = toInt(getNumber(s, "numLayers"), "spec.numLayers", 1);
  spec.numHeads = toInt(getNumber(s, "numHeads"), "spec.numHeads", 1);
  spec.numKvHeads = toInt(getNumber(s, "numKvHeads"), "spec.numKvHeads", 1);
  spec.headDim = toInt(getNumber(s, "headDim"), "spec.headDim", 1);
  spec.vocab = toInt(getNumber(s, "vocabSize"), "spec.vocabSize", 1);
  spec.maxPositions = toInt(getNumber(s, "maxPositions"), "spec.maxPositions", 1);
  spec.rmsEps = getNumber(s, "rmsEps");
  spec.ropeTheta = getNumber(s, "ropeTheta");
  spec.qkNorm = getBoolOr(s, "qkNorm", false);
  spec.qkRowsInterleaved = getBoolOr(s, "qkRowsInterleaved", false);
  Napi::Value window = s.Get("slidingWindow");
  spec.slidingWindow = window.IsNumber() ? toInt(window.As<Napi::Number>().DoubleValue(), "spec.slidingWindow") : 0;
  Napi::Object rope = getObject(s, "rope");
  const std::string type = getString(rope, "type");
  if (type == "default") {
    spec.rope.type = rb::RopeSpec::Type::Default;
  } else if (type == "linear") {
    spec.rope.type = rb::RopeSpec::Type::Linear;
    spec.rope.factor = getNumber(rope, "factor");
  } else if (type == "llama3") {
    spec.rope.type = rb::RopeSpec::Type::Llama3;
    spec.rope.factor = getNumber(rope, "factor");
    spec.rope.lowFreqFactor = getNumber(rope, "lowFreqFactor");
    spec.rope.highFreqFactor = getNumber(rope, "highFreqFactor");
    spec.rope.originalMaxPositions = toInt(getNumber(rope, "originalMaxPositions"), "rope.originalMaxPositions", 1);
  } else if (type == "factors") {
    spec.rope.type = rb::RopeSpec::Type::Factors;
    Napi::Value factors = rope.Get("factors");
    if (!factors.IsArray()) throw std::invalid_argument("rope.factors must be an array");
    auto arr = factors.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) spec.rope.factors.push_back(arr.Get(i).As<Napi::Number>().FloatValue());
  } else {
    throw std::invalid_argument("unsupported RoPE type " + type);
  }
  Napi::Value moe = s.Get("moe");
  if (moe.IsObject()) {
    Napi::Object m = moe.As<Napi::Object>();
    spec.moe.numExperts = toInt(getNumber(m, "numExperts"), "spec.moe.numExperts", 1);
    spec.moe.topK = toInt(getNumber(m, "topK"), "spec.moe.topK", 1);
    spec.moe.expertIntermediate = toInt(getNumber(m, "expertIntermediateSize"), "spec.moe.expertIntermediateSize", 1);
    Napi::Value shared = m.Get("sharedExpertIntermediateSize");
    spec.moe.sharedIntermediate = shared.IsNumber() ? toInt(shared.As<Napi::Number>().DoubleValue(), "spec.moe.sharedExpertIntermediateSize", 1) : 0;
    spec.moe.normTopk = getBoolOr(m, "normTopkProb", false);
  }
  return spec;
}

rb::LoadPlan toPlan(const Napi::Object& p) {
  rb::LoadPlan plan;
  plan.spec = toSpec(getObject(p, "spec"));
  plan.embed = toTensor(getObject(p, "embed"));
  plan.finalNorm = toTensor(getObject(p, "finalNorm"));
  plan.lmHead = toTensor(getObject(p, "lmHead"));
  Napi::Value layers = p.Get("layers");
  if (!layers.IsArray()) throw std::invalid_argument("plan.layers must be an array");
  auto arr = layers.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Object layer = arr.Get(i).As<Napi::Object>();
    rb::LayerPlan lp;
    for (int r = 0; r < rb::kNumRoles; ++r) {
      Napi::Value v = layer.Get(rb::roleName(static_cast<rb::Role>(r)));
      if (v.IsObject()) lp.tensors[r] = toTensor(v.As<Napi::Object>());
    }
    Napi::Value experts = layer.Get("experts");
    if (experts.IsArray()) {
      auto list = experts.As<Napi::Array>();
      for (uint32_t e = 0; e < list.Length(); ++e) {
        if (!list.Get(e).IsObject()) throw std::invalid_argument("plan.layers[].experts[] must be objects");
        Napi::Object expert = list.Get(e).As<Napi::Object>();
        std::array<rb::TensorRef, rb::kNumExpertRoles> refs;
        for (int r = 0; r < rb::kNumExpertRoles; ++r) refs[r] = toTensor(getObject(expert, rb::expertRoleName(static_cast<rb::ExpertRole>(r))));
        lp.experts.push_back(std::move(refs));
      }
    }
    plan.layers.push_back(std::move(lp));
  }
  return plan;
}

std::vector<int32_t> toIds(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw std::invalid_argument(std::string(what) + " must be an array of token ids");
  auto arr = v.As<Napi::Array>();
  std::vector<int32_t> ids;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value x = arr.Get(i);
    if (!x.IsNumber()) throw std::invalid_argument(std::string(what) + " must hold numbers");
    ids.push_back(toInt(x.As<Napi::Number>().DoubleValue(), std::string("a token id in ") + what));
  }
  return ids;
}

rb::GenerateRequest toRequest(const Napi::Object& o) {
  rb::GenerateRequest req;
  req.prompt = toIds(o.Get("promptIds"), "promptIds");
  req.maxNewTokens = toInt(getNumberOr(o, "maxNewTokens", 16), "maxNewTokens");
  if (o.Has("eosTokenIds")) req.eosTokenIds = toIds(o.Get("eosTokenIds"), "eosTokenIds");
  req.stopOnEos = getBoolOr(o, "stopOnEos", true);
  req.trace = getBoolOr(o, "trace", false);
  Napi::Value logits = o.Get("logits");
  const std::string mode = logits.IsString() ? logits.As<Napi::String>().Utf8Value() : "none";
  if (mode == "none") req.logits = rb::LogitsMode::None;
  else if (mode == "prefill") req.logits = rb::LogitsMode::Prefill;
  else if (mode == "all") req.logits = rb::LogitsMode::EveryStep;
  else throw std::invalid_argument("logits must be 'none', 'prefill' or 'all'");
  if (o.Has("sampling") && o.Get("sampling").IsObject()) {
    Napi::Object s = o.Get("sampling").As<Napi::Object>();
    req.sampling.greedy = getBoolOr(s, "greedy", true);
    req.sampling.temperature = static_cast<float>(getNumberOr(s, "temperature", 1.0));
    req.sampling.topK = toInt(getNumberOr(s, "topK", 0), "topK");
    req.sampling.topP = static_cast<float>(getNumberOr(s, "topP", 1.0));
    req.sampling.repetitionPenalty = static_cast<float>(getNumberOr(s, "repetitionPenalty", 1.0));
    req.sampling.seed = static_cast<uint64_t>(getNumberOr(s, "seed", 0));
  }
  return req;
}

Napi::Object expertsToJs(Napi::Env env, const rb::ExpertRecord& x) {
  Napi::Object e = Napi::Object::New(env);
  Napi::Array used = Napi::Array::New(env, x.used.size());
  for (size_t i = 0; i < x.used.size(); ++i) used.Set(static_cast<uint32_t>(i), x.used[i]);
  e.Set("used", used);
  e.Set("loaded", x.loaded);
  e.Set("prefetched", x.prefetched);
  e.Set("cached", x.cached);
  e.Set("guessed", x.guessed);
  e.Set("guessedUsed", x.guessedUsed);
  e.Set("bytesRead", static_cast<double>(x.bytesRead));
  e.Set("loadNs", static_cast<double>(x.loadNs));
  e.Set("prefetchLoadNs", static_cast<double>(x.prefetchLoadNs));
  e.Set("waitNs", static_cast<double>(x.waitNs));
  e.Set("createNs", static_cast<double>(x.createNs));
  return e;
}

Napi::Object unitToJs(Napi::Env env, const rb::UnitRecord& u) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", u.name);
  o.Set("loadNs", static_cast<double>(u.loadNs));
  o.Set("bytesRead", static_cast<double>(u.bytesRead));
  o.Set("cpuWaitNs", static_cast<double>(u.cpuWaitNs));
  o.Set("createNs", static_cast<double>(u.createNs));
  o.Set("forwardNs", static_cast<double>(u.forwardNs));
  o.Set("kvFillNs", static_cast<double>(u.kvFillNs));
  o.Set("loadInBackground", u.loadInBackground);
  if (u.experts) o.Set("experts", expertsToJs(env, *u.experts));
  return o;
}

Napi::Object deviceToJs(Napi::Env env, const rb::DeviceStats& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", d.name);
  o.Set("computeCapability", d.computeCapability);
  o.Set("totalBytes", static_cast<double>(d.totalBytes));
  o.Set("freeAtStartBytes", static_cast<double>(d.freeAtStartBytes));
  o.Set("currentBytes", static_cast<double>(d.currentBytes));
  o.Set("peakBytes", static_cast<double>(d.peakBytes));
  o.Set("kvCacheBytes", static_cast<double>(d.kvCacheBytes));
  o.Set("activationBytes", static_cast<double>(d.activationBytes));
  Napi::Array units = Napi::Array::New(env, d.unitBytes.size());
  for (size_t i = 0; i < d.unitBytes.size(); ++i) units.Set(i, static_cast<double>(d.unitBytes[i]));
  o.Set("unitBytes", units);
  o.Set("pinnedHost", d.pinnedHost);
  o.Set("asyncTransfer", d.asyncTransfer);
  o.Set("gemm", d.gemm);
  return o;
}

Napi::Array spansToJs(Napi::Env env, const std::vector<rb::TraceSpan>& spans) {
  Napi::Array out = Napi::Array::New(env, spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    const rb::TraceSpan& t = spans[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("phase", rb::phaseName(t.phase));
    o.Set("lane", rb::laneName(t.lane));
    o.Set("startNs", static_cast<double>(t.startNs));
    o.Set("durNs", static_cast<double>(t.durNs));
    o.Set("unit", t.unit);
    if (t.expert >= 0) o.Set("expert", t.expert);
    if (t.bytes > 0) o.Set("bytes", static_cast<double>(t.bytes));
    if (!t.used) o.Set("used", false);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Object resultToJs(Napi::Env env, const rb::GenerateResult& r) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Array tokens = Napi::Array::New(env, r.tokens.size());
  for (size_t i = 0; i < r.tokens.size(); ++i) tokens.Set(i, r.tokens[i]);
  out.Set("tokens", tokens);
  Napi::Array logits = Napi::Array::New(env, r.logits.size());
  for (size_t i = 0; i < r.logits.size(); ++i) {
    auto arr = Napi::Float32Array::New(env, r.logits[i].size());
    std::copy(r.logits[i].begin(), r.logits[i].end(), arr.Data());
    logits.Set(i, arr);
  }
  out.Set("logits", logits);
  Napi::Array steps = Napi::Array::New(env, r.steps.size());
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const rb::StepRecord& s = r.steps[i];
    Napi::Object so = Napi::Object::New(env);
    so.Set("kind", s.prefill ? "prefill" : "decode");
    so.Set("tokens", s.tokens);
    so.Set("position", s.position);
    so.Set("wallNs", static_cast<double>(s.wallNs));
    so.Set("sampleNs", static_cast<double>(s.sampleNs));
    so.Set("peakRssBytes", static_cast<double>(s.peakRssBytes));
    so.Set("deviceBytesRead", s.deviceBytesRead < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(s.deviceBytesRead)));
    Napi::Array units = Napi::Array::New(env, s.units.size());
    for (size_t j = 0; j < s.units.size(); ++j) units.Set(j, unitToJs(env, s.units[j]));
    so.Set("units", units);
    so.Set("startNs", static_cast<double>(s.startNs));
    if (!s.spans.empty()) so.Set("spans", spansToJs(env, s.spans));
    steps.Set(i, so);
  }
  out.Set("steps", steps);
  out.Set("stopReason", r.stopReason);
  if (r.device.present) out.Set("device", deviceToJs(env, r.device));
  return out;
}

class GenerateWorker : public Napi::AsyncProgressQueueWorker<int32_t> {
 public:
  GenerateWorker(Napi::Env env, std::shared_ptr<rb::Engine> engine, rb::GenerateRequest request,
                 Napi::Function onToken, std::shared_ptr<bool> busy)
      : Napi::AsyncProgressQueueWorker<int32_t>(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        engine_(std::move(engine)),
        request_(std::move(request)),
        busy_(std::move(busy)) {
    if (!onToken.IsEmpty()) onToken_ = Napi::Persistent(onToken);
  }

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    try {
      result_ = engine_->generate(request_, [&](int32_t token) { progress.Send(&token, 1); });
    } catch (const std::bad_alloc&) {
      SetError("out of memory: the KV cache or a unit's buffers for this generation could not be allocated");
    } catch (const rb::NonFiniteError& e) {
      nonFinite_ = true;
      SetError(e.what());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnProgress(const int32_t* data, size_t count) override {
    if (onToken_.IsEmpty()) return;
    for (size_t i = 0; i < count; ++i) onToken_.Call({Napi::Number::New(Env(), data[i])});
  }

  void OnOK() override {
    *busy_ = false;
    deferred_.Resolve(resultToJs(Env(), result_));
  }

  void OnError(const Napi::Error& e) override {
    *busy_ = false;
    // The weights, not the engine, are at fault: JS turns this code into a model error.
    if (nonFinite_) e.Value().Set("code", "ERR_RB_NON_FINITE");
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<rb::Engine> engine_;
  rb::GenerateRequest request_;
  Napi::FunctionReference onToken_;
  std::shared_ptr<bool> busy_;
  rb::GenerateResult result_;
  bool nonFinite_ = false;
};

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod<&EngineWrap::Generate>("generate"),
                        InstanceMethod<&EngineWrap::Close>("close"),
                        InstanceAccessor<&EngineWrap::Backend>("backend")});
  }

  EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      throw Napi::TypeError::New(env, "new Engine(plan, options): plan must be an object");
    }
    try {
      rb::EngineOptions options;
      if (info.Length() > 1 && info[1].IsObject()) {
        Napi::Object o = info[1].As<Napi::Object>();
        Napi::Value device = o.Get("device");
        if (device.IsString()) {
          const std::string d = device.As<Napi::String>().Utf8Value();
          if (d == "cuda") options.device = rb::Device::Cuda;
          else if (d != "cpu") throw std::invalid_argument("device must be 'cpu' or 'cuda', not '" + d + "'");
        }
        options.pinMemory = getBoolOr(o, "pinMemory", true);
        options.asyncTransfer = getBoolOr(o, "asyncTransfer", true);
        options.emulateDevice = getBoolOr(o, "emulateDevice", false);
        options.prefetch = getBoolOr(o, "prefetch", true);
        options.resident = getBoolOr(o, "resident", false);
        options.dropAfterRead = getBoolOr(o, "dropAfterRead", false);
        options.expertStreaming = getBoolOr(o, "expertStreaming", true);
        const double cacheBytes = getNumberOr(o, "expertCacheBytes", 0);
        if (!(cacheBytes >= 0 && cacheBytes <= 9.0e15)) throw std::invalid_argument("expertCacheBytes must be a byte count >= 0");
        options.expertCacheBytes = static_cast<size_t>(cacheBytes);
        Napi::Value io = o.Get("io");
        if (io.IsString()) options.io = rb::parseIoMode(io.As<Napi::String>().Utf8Value());
        options.threads = toInt(getNumberOr(o, "threads", 0), "threads", 0, 1024);
        options.slowdownPercent = getNumberOr(o, "slowdownPercent", 0);
        if (!(options.slowdownPercent >= 0)) throw std::invalid_argument("slowdownPercent must be >= 0");
        Napi::Value fault = o.Get("fault");
        if (fault.IsString()) options.fault = rb::parseFault(fault.As<Napi::String>().Utf8Value());
      }
      engine_ = std::make_shared<rb::Engine>(toPlan(info[0].As<Napi::Object>()), options);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

 private:
  Napi::Value Generate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) throw Napi::Error::New(env, "the engine is closed");
    if (*busy_) throw Napi::Error::New(env, "a generation is already running on this engine");
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "generate(request, onToken?)");
    rb::GenerateRequest request;
    try {
      request = toRequest(info[0].As<Napi::Object>());
    } catch (const std::exception& e) {
      throw Napi::TypeError::New(env, e.what());
    }
    Napi::Function onToken;
    if (info.Length() > 1 && info[1].IsFunction()) onToken = info[1].As<Napi::Function>();
    *busy_ = true;
    auto* worker = new GenerateWorker(env, engine_, std::move(request), onToken, busy_);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (*busy_) throw Napi::Error::New(info.Env(), "cannot close while a generation is running");
    engine_.reset();
    return info.Env().Undefined();
  }

  Napi::Value Backend(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), engine_ ? engine_->backendName() : "closed");
  }

  std::shared_ptr<rb::Engine> engine_;
  std::shared_ptr<bool> busy_ = std::make_shared<bool>(false);
};

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rb::BuildInfo b = rb::buildInfo();
  Napi::Object o = Napi::Object::New(env);
  o.Set("compiler", b.compiler);
  o.Set("flags", b.flags);
  o.Set("buildType", b.buildType);
  Napi::Array backends = Napi::Array::New(env, b.backends.size());
  for (size_t i = 0; i < b.backends.size(); ++i) backends.Set(i, b.backends[i]);
  o.Set("backends", backends);
  o.Set("timers", b.timers);
  o.Set("cpuKernels", b.cpuKernels);
  return o;
}

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rb::CudaStatus s = rb::cudaStatus();
  Napi::Object o = Napi::Object::New(env);
  o.Set("built", s.built);
  o.Set("available", s.available);
  o.Set("code", s.code);
  o.Set("reason", s.reason);
  o.Set("library", s.library);
  o.Set("buildState", rb::cudaBuildState());
  o.Set("devices", s.devices);
  o.Set("deviceName", s.deviceName);
  o.Set("deviceMemoryBytes", static_cast<double>(s.deviceMemoryBytes));
  o.Set("computeCapability", s.computeCapability);
  o.Set("driverVersion", s.driverVersion);
  o.Set("runtimeVersion", s.runtimeVersion);
  o.Set("cublas", s.cublas);
  return o;
}

// Runs a blocking system microbenchmark on the libuv pool: its C++ exception rejects the
// promise instead of ending the process, and the JS thread stays free for the seconds it takes.
template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using ToJs = Napi::Value (*)(Napi::Env, const Result&);

  static Napi::Promise Start(Napi::Env env, std::function<Result()> job, ToJs toJs) {
    auto* worker = new PromiseWorker(env, std::move(job), toJs);
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      result_ = job_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override { deferred_.Resolve(toJs_(Env(), result_)); }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  PromiseWorker(Napi::Env env, std::function<Result()> job, ToJs toJs)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)), toJs_(toJs) {}

  Napi::Promise::Deferred deferred_;
  std::function<Result()> job_;
  ToJs toJs_;
  Result result_{};
};

/** An optional positive integer option; absent keeps the C++ default. */
template <typename T>
void readCount(const Napi::Object& o, const char* key, T& out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return;
  const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  const double max = std::min(9007199254740991.0, static_cast<double>(std::numeric_limits<T>::max()));
  if (!(x >= 1 && x <= max && std::floor(x) == x)) {
    throw Napi::TypeError::New(o.Env(), std::string("option '") + key + "' must be a positive integer");
  }
  out = static_cast<T>(x);
}

Napi::Object optionsArg(const Napi::CallbackInfo& info, const char* signature) {
  if (info.Length() == 0 || info[0].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), signature);
  return info[0].As<Napi::Object>();
}

Napi::Value optionalFraction(Napi::Env env, const std::optional<double>& x) {
  return x ? Napi::Number::New(env, *x) : env.Null();
}

Napi::Value PageCacheResidency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "pageCacheResidency(file: string)");
  try {
    return Napi::Number::New(env, rb::sysbench::pageCacheResidency(info[0].As<Napi::String>().Utf8Value()).fraction());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

Napi::Value EvictResultsToJs(Napi::Env env, const std::vector<rb::sysbench::EvictResult>& results) {
  Napi::Array out = Napi::Array::New(env, results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    const rb::sysbench::EvictResult& r = results[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("file", r.file);
    o.Set("bytes", static_cast<double>(r.bytes));
    o.Set("residentBefore", optionalFraction(env, r.residentBefore));
    o.Set("residentAfter", optionalFraction(env, r.residentAfter));
    o.Set("status", rb::sysbench::evictStatusName(r.status));
    out.Set(i, o);
  }
  return out;
}

Napi::Value EvictFromPageCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* signature = "evictFromPageCache(files: string[])";
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, signature);
  auto arr = info[0].As<Napi::Array>();
  std::vector<std::string> files;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value f = arr.Get(i);
    if (!f.IsString()) throw Napi::TypeError::New(env, signature);
    files.push_back(f.As<Napi::String>().Utf8Value());
  }
  return PromiseWorker<std::vector<rb::sysbench::EvictResult>>::Start(
      env, [files] { return rb::sysbench::evictFromPageCache(files); }, EvictResultsToJs);
}

Napi::Object KernelToJs(Napi::Env env, const rb::sysbench::KernelBandwidth& k) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("bytesPerElement", k.bytesPerElement);
  o.Set("bestGBps", k.bestGBps);
  o.Set("medianGBps", k.medianGBps);
  return o;
}

Napi::Value MemoryBandwidthToJs(Napi::Env env, const rb::sysbench::MemoryBandwidthResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("bytes", static_cast<double>(r.options.arrayBytes));
  o.Set("elementBytes", static_cast<double>(sizeof(double)));
  o.Set("threads", r.options.threads);
  o.Set("repeats", r.options.repeats);
  o.Set("l3Bytes", static_cast<double>(r.l3Bytes));
  o.Set("copy", KernelToJs(env, r.copy));
  o.Set("triad", KernelToJs(env, r.triad));
  return o;
}

Napi::Value MemoryBandwidth(const Napi::CallbackInfo& info) {
  Napi::Object o = optionsArg(info, "memoryBandwidth({ bytes?, threads?, repeats? })");
  rb::sysbench::MemoryBandwidthOptions options;
  readCount(o, "bytes", options.arrayBytes);
  readCount(o, "threads", options.threads);
  readCount(o, "repeats", options.repeats);
  return PromiseWorker<rb::sysbench::MemoryBandwidthResult>::Start(
      info.Env(), [options] { return rb::sysbench::measureMemoryBandwidth(options); }, MemoryBandwidthToJs);
}

Napi::Value DiskReadToJs(Napi::Env env, const rb::sysbench::DiskReadResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("dir", r.options.dir);
  o.Set("bytes", static_cast<double>(r.options.bytes));
  o.Set("blockBytes", static_cast<double>(r.blockBytes));
  o.Set("coldMBps", r.coldMBps);
  o.Set("warmMBps", r.warmMBps);
  o.Set("residentBeforeCold", r.residentBeforeCold);
  o.Set("residentBeforeWarm", r.residentBeforeWarm);
  o.Set("coldDeviceBytes", r.coldDeviceBytes < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(r.coldDeviceBytes)));
  Napi::Array direct = Napi::Array::New(env, r.direct.size());
  for (size_t i = 0; i < r.direct.size(); ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("blockBytes", static_cast<double>(r.direct[i].blockBytes));
    d.Set("inFlight", r.direct[i].inFlight);
    d.Set("mbps", r.direct[i].mbps);
    direct.Set(i, d);
  }
  o.Set("direct", direct);
  o.Set("directRefused", r.directRefused.empty() ? env.Null() : Napi::String::New(env, r.directRefused));
  return o;
}

Napi::Value DiskReadBandwidth(const Napi::CallbackInfo& info) {
  const char* signature = "diskReadBandwidth({ dir: string, bytes? })";
  Napi::Object o = optionsArg(info, signature);
  if (!o.Get("dir").IsString()) throw Napi::TypeError::New(info.Env(), signature);
  rb::sysbench::DiskReadOptions options;
  options.dir = o.Get("dir").As<Napi::String>().Utf8Value();
  readCount(o, "bytes", options.bytes);
  return PromiseWorker<rb::sysbench::DiskReadResult>::Start(
      info.Env(), [options] { return rb::sysbench::measureDiskRead(options); }, DiskReadToJs);
}

// The bytes of a Uint8Array argument.
std::pair<const uint8_t*, size_t> bytesArg(const Napi::Value& v, const char* signature) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(v.Env(), signature);
  }
  auto a = v.As<Napi::Uint8Array>();
  return {a.Data(), a.ByteLength()};
}

// dequantize(dtype, bytes): the values of whole blocks (or float values) as float32.
Napi::Value Dequantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* signature = "dequantize(dtype: string, bytes: Uint8Array)";
  if (info.Length() < 2 || !info[0].IsString()) throw Napi::TypeError::New(env, signature);
  try {
    const rb::DType dtype = rb::dtypeFromName(info[0].As<Napi::String>().Utf8Value());
    const auto [data, bytes] = bytesArg(info[1], signature);
    const size_t blockBytes = static_cast<size_t>(rb::blockBytes(dtype));
    if (bytes % blockBytes != 0) throw std::invalid_argument("not a whole number of blocks");
    const size_t n = bytes / blockBytes * static_cast<size_t>(rb::blockElems(dtype));
    Napi::Float32Array out = Napi::Float32Array::New(env, n);
    rb::convertToF32(dtype, data, out.Data(), n);
    return out;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// gemm(dtype, weights, rows, cols, x, n): Y[n x rows] = X[n x cols] W^T with the engine's kernels.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* signature = "gemm(dtype: string, weights: Uint8Array, rows: number, cols: number, x: Float32Array, n: number)";
  if (info.Length() < 6 || !info[0].IsString() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsTypedArray() ||
      !info[5].IsNumber()) {
    throw Napi::TypeError::New(env, signature);
  }
  try {
    const rb::DType dtype = rb::dtypeFromName(info[0].As<Napi::String>().Utf8Value());
    const auto [data, bytes] = bytesArg(info[1], signature);
    const int rows = info[2].As<Napi::Number>().Int32Value(), cols = info[3].As<Napi::Number>().Int32Value();
    const int n = info[5].As<Napi::Number>().Int32Value();
    auto x = info[4].As<Napi::Float32Array>();
    if (rows <= 0 || cols <= 0 || n <= 0) throw std::invalid_argument("rows, cols and n must be positive");
    if (bytes != static_cast<size_t>(rows) * rb::storageBytes(dtype, cols)) throw std::invalid_argument("weights do not hold rows x cols values");
    if (x.ElementLength() != static_cast<size_t>(n) * cols) throw std::invalid_argument("x does not hold n x cols values");
    Napi::Float32Array y = Napi::Float32Array::New(env, static_cast<size_t>(n) * rows);
    rb::cpu::gemm(x.Data(), n, rb::cpu::GemmJob{rb::cpu::WeightMatrix(dtype, rows, cols, data), nullptr, y.Data()});
    return y;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// quantize(dtype, values, cols): rows of `cols` values encoded as `dtype` (see quant/quantize.h).
Napi::Value Quantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* signature = "quantize(dtype: string, values: Float32Array, cols: number)";
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsTypedArray() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, signature);
  }
  try {
    const rb::DType dtype = rb::dtypeFromName(info[0].As<Napi::String>().Utf8Value());
    auto values = info[1].As<Napi::TypedArray>();
    if (values.TypedArrayType() != napi_float32_array) throw Napi::TypeError::New(env, signature);
    const int64_t cols = info[2].As<Napi::Number>().Int64Value();
    const int64_t n = static_cast<int64_t>(values.ElementLength());
    if (cols <= 0 || n % cols != 0) throw std::invalid_argument("values must hold whole rows of cols values");
    Napi::Uint8Array out = Napi::Uint8Array::New(env, static_cast<size_t>(n / cols * rb::storageBytes(dtype, cols)));
    rb::quant::quantizeRows(dtype, values.As<Napi::Float32Array>().Data(), n / cols, cols, out.Data());
    return out;
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("dequantize", Napi::Function::New(env, Dequantize));
  exports.Set("quantize", Napi::Function::New(env, Quantize));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("Engine", EngineWrap::Define(env));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  exports.Set("cudaStatus", Napi::Function::New(env, CudaStatus));
  exports.Set("clockReadCostNs", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), rb::clockReadCostNs());
  }));
  exports.Set("pageCacheResidency", Napi::Function::New(env, PageCacheResidency));
  exports.Set("evictFromPageCache", Napi::Function::New(env, EvictFromPageCache));
  exports.Set("memoryBandwidth", Napi::Function::New(env, MemoryBandwidth));
  exports.Set("diskReadBandwidth", Napi::Function::New(env, DiskReadBandwidth));
  return exports;
}

}  // namespace

NODE_API_MODULE(rabbit_native, Init)
