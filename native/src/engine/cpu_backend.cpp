#include "engine/cpu_backend.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <stdexcept>

#include "engine/buffer_pool.h"
#include "engine/cpu_kernels.h"
#include "engine/dtype.h"
#include "engine/finite.h"
#include "engine/timer.h"
#include "engine/worker_pool.h"

namespace rb {
namespace {

// A unit's weights in compute form: matrices as stored in the checkpoint (in the host buffer, or
// copied into the arena), vectors (norms, biases) as f32 in the arena. Slots follow
// HostUnit::slices.
class CpuUnitWeights : public UnitWeights {
 public:
  struct FreeBytes {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, FreeBytes> arena;
  size_t capacity = 0;
  std::vector<cpu::WeightMatrix> matrices;
  std::vector<const float*> vectors;

  uint8_t* reserve(size_t bytes) {
    if (bytes > capacity) {
      void* p = std::aligned_alloc(kAlign, roundUp(bytes));
      if (!p) throw std::bad_alloc();
      arena.reset(static_cast<uint8_t*>(p));
      capacity = roundUp(bytes);
    }
    return arena.get();
  }
  const cpu::WeightMatrix& matrix(size_t slot) const { return matrices[slot]; }
  const float* vector(size_t slot) const { return slot < vectors.size() ? vectors[slot] : nullptr; }

  static constexpr size_t kAlign = 64;
  static size_t roundUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
};

class CpuBackend : public Backend {
 public:
  CpuBackend(const ModelSpec& spec, Fault fault, bool unitsOutliveHost)
      : spec_(spec), fault_(fault), unitsOutliveHost_(unitsOutliveHost), kv_(spec.numLayers) {}

  std::string name() const override { return "cpu"; }
  const char* nonFiniteActivation() const override { return nonFinite_; }
  BackendCaps caps() const override {
    BackendCaps c;
    c.borrowsHostBytes = !unitsOutliveHost_;
    c.quantizedWeights = true;
    c.mixtureOfExperts = true;
    return c;
  }

  void resetCache(int maxTokens) override {
    const size_t kvDim = static_cast<size_t>(spec_.numKvHeads) * spec_.headDim;
    for (auto& layer : kv_) {
      layer.k.resize(static_cast<size_t>(maxTokens) * kvDim);
      layer.v.resize(layer.k.size());
    }
    if (!rope_ || ropePositions_ < maxTokens) {
      rope_ = std::make_unique<RopeTable>(spec_, maxTokens, fault_ == Fault::WrongRope);
      ropePositions_ = maxTokens;
    }
    maxTokens_ = maxTokens;
  }

  void setFinalNorm(const std::vector<float>& weight) override { finalNorm_ = weight; }
  void setExpertSource(ExpertSource* source) override { experts_ = source; }

  // create_layer on the CPU: vectors (norms, biases) are widened to f32; matrices keep their
  // checkpoint dtype and layout, which is what the kernels read. A streamed unit's matrices are
  // read in place from its host buffer; a unit that outlives the buffer gets its own copy.
  std::unique_ptr<UnitWeights> createUnit(const HostUnit& host) override {
    const size_t count = host.slices.size();
    size_t total = 0;
    for (size_t i = 0; i < count; ++i) {
      const HostSlice& s = host.slices[i];
      if (!s.present) continue;
      const bool matrix = s.rows > 0;
      if (matrix && !unitsOutliveHost_) continue;
      total += CpuUnitWeights::roundUp(matrix ? storageBytes(s.dtype, s.numel) : static_cast<size_t>(s.numel) * sizeof(float));
    }
    std::unique_ptr<CpuUnitWeights> w = spare_.take(total);
    if (!w) w = std::make_unique<CpuUnitWeights>();
    uint8_t* at = w->reserve(total);
    w->matrices.assign(count, cpu::WeightMatrix{});
    w->vectors.assign(count, nullptr);
    for (size_t i = 0; i < count; ++i) {
      const HostSlice& s = host.slices[i];
      if (!s.present) continue;
      const int rows = static_cast<int>(s.rows), cols = static_cast<int>(s.cols);
      const auto* bytes = static_cast<const uint8_t*>(host.data(i));
      if (rows > 0 && !unitsOutliveHost_) {
        w->matrices[i] = cpu::WeightMatrix{s.dtype, rows, cols, bytes};
      } else if (rows > 0) {
        const size_t n = storageBytes(s.dtype, s.numel);
        std::memcpy(at, bytes, n);
        w->matrices[i] = cpu::WeightMatrix{s.dtype, rows, cols, at};
        at += CpuUnitWeights::roundUp(n);
      } else {
        float* out = reinterpret_cast<float*>(at);
        convertToF32(s.dtype, bytes, out, static_cast<size_t>(s.numel));
        w->vectors[i] = out;
        at += CpuUnitWeights::roundUp(static_cast<size_t>(s.numel) * sizeof(float));
      }
    }
    return w;
  }

  void releaseUnit(std::unique_ptr<UnitWeights> weights) override {
    spare_.give(std::unique_ptr<CpuUnitWeights>(static_cast<CpuUnitWeights*>(weights.release())));
  }

  void setHidden(const float* rows, int n, int pos0) override {
    if (pos0 + n > maxTokens_) throw std::logic_error("sequence longer than the KV cache");
    n_ = n;
    pos0_ = pos0;
    x_.assign(rows, rows + static_cast<size_t>(n) * spec_.hidden);
  }

  int64_t kvFillStartNs() const override { return kvStart_; }

  int64_t forwardLayer(int layer, const UnitWeights& weights) override {
    const auto& w = static_cast<const CpuUnitWeights&>(weights);
    const int n = n_, H = spec_.hidden, D = spec_.headDim;
    const int Q = spec_.numHeads * D, KV = spec_.numKvHeads * D;
    const float eps = static_cast<float>(spec_.rmsEps);
    const size_t rows = static_cast<size_t>(n);

    xn_.resize(rows * H);
    q_.resize(rows * Q);
    k_.resize(rows * KV);
    v_.resize(rows * KV);
    attn_.resize(rows * Q);
    proj_.resize(rows * H);

    nonFinite_ = nullptr;
    cpu::rmsnorm(x_.data(), w.vector(kInputNorm), n, H, eps, xn_.data());
    watch("input_layernorm", xn_);
    const cpu::GemmJob qkv[] = {{w.matrix(kQ), w.vector(kQBias), q_.data()},
                                {w.matrix(kK), w.vector(kKBias), k_.data()},
                                {w.matrix(kV), w.vector(kVBias), v_.data()}};
    cpu::gemm(xn_.data(), n, qkv, 3);
    watch("q_proj", q_);
    watch("k_proj", k_);
    watch("v_proj", v_);
    if (spec_.qkRowsInterleaved) {
      deinterleaveHeads(q_.data(), n * spec_.numHeads, D);
      deinterleaveHeads(k_.data(), n * spec_.numKvHeads, D);
    }
    if (spec_.qkNorm) {
      cpu::rmsnorm(q_.data(), w.vector(kQNorm), n * spec_.numHeads, D, eps, q_.data());
      cpu::rmsnorm(k_.data(), w.vector(kKNorm), n * spec_.numKvHeads, D, eps, k_.data());
      watch("q_norm", q_);
      watch("k_norm", k_);
    }
    for (int t = 0; t < n; ++t) {
      for (int h = 0; h < spec_.numHeads; ++h) rope_->apply(q_.data() + static_cast<size_t>(t) * Q + h * D, pos0_ + t);
      for (int h = 0; h < spec_.numKvHeads; ++h) rope_->apply(k_.data() + static_cast<size_t>(t) * KV + h * D, pos0_ + t);
    }

    kvStart_ = nowNs();
    KvLayer& cache = kv_[layer];
    std::copy(k_.begin(), k_.end(), cache.k.begin() + static_cast<size_t>(pos0_) * KV);
    std::copy(v_.begin(), v_.end(), cache.v.begin() + static_cast<size_t>(pos0_) * KV);
    const int64_t kvFillNs = nowNs() - kvStart_;

    attention(cache);
    watch("attention", attn_);
    cpu::gemm(attn_.data(), n, {w.matrix(kO), w.vector(kOBias), proj_.data()});
    watch("o_proj", proj_);
    for (size_t i = 0; i < rows * H; ++i) x_[i] += proj_[i];

    cpu::rmsnorm(x_.data(), w.vector(kPostNorm), n, H, eps, xn_.data());
    watch("post_attention_layernorm", xn_);
    if (w.matrix(kRouter).data) {
      mixtureOfExperts(layer, w);
    } else {
      mlp(xn_.data(), n, w.matrix(kGate), w.vector(kGateBias), w.matrix(kUp), w.vector(kUpBias), w.matrix(kDown),
          w.vector(kDownBias), proj_.data());
      watch("down_proj", proj_);
    }
    for (size_t i = 0; i < rows * H; ++i) x_[i] += proj_[i];
    watch("the residual add", x_);
    return kvFillNs;
  }

  void computeLogits(const UnitWeights& head, float* logits) override {
    const auto& w = static_cast<const CpuUnitWeights&>(head);
    const int H = spec_.hidden;
    std::vector<float> last(H);
    cpu::rmsnorm(x_.data() + static_cast<size_t>(n_ - 1) * H, finalNorm_.data(), 1, H,
                 static_cast<float>(spec_.rmsEps), last.data());
    nonFinite_ = nullptr;
    watch("norm", last);
    cpu::gemm(last.data(), 1, {w.matrix(0), nullptr, logits});
  }

 private:
  struct KvLayer {
    std::vector<float> k, v;  // [position][kv head][head_dim]
  };

  // SwiGLU MLP on `n` rows of `in`: down(silu(gate(in)) * up(in)), written to `out` (n x hidden).
  void mlp(const float* in, int n, const cpu::WeightMatrix& gate, const float* gateBias, const cpu::WeightMatrix& up,
           const float* upBias, const cpu::WeightMatrix& down, const float* downBias, float* out) {
    const size_t width = static_cast<size_t>(n) * gate.rows;
    gate_.resize(width);
    up_.resize(width);
    const cpu::GemmJob gateUp[] = {{gate, gateBias, gate_.data()}, {up, upBias, up_.data()}};
    cpu::gemm(in, n, gateUp, 2);
    watch("gate_proj", gate_);
    watch("up_proj", up_);
    cpu::swiglu(gate_.data(), up_.data(), width);
    cpu::gemm(gate_.data(), n, {down, downBias, out});
  }

  // The sparse MLP of transformers' Mixtral / Qwen2-MoE / Qwen3-MoE blocks on xn_, into proj_:
  // softmax over the router logits, each token's top-k experts (ties to the lower index), their
  // weights renormalised when configured; each expert runs on the rows routed to it, in expert
  // order, and adds its weighted output; then Qwen2-MoE's shared expert, gated by a sigmoid.
  void mixtureOfExperts(int layer, const CpuUnitWeights& w) {
    const int n = n_, H = spec_.hidden, E = spec_.moe.numExperts, K = spec_.moe.topK;
    const size_t rows = static_cast<size_t>(n);
    routerLogits_.resize(rows * E);
    cpu::gemm(xn_.data(), n, {w.matrix(kRouter), nullptr, routerLogits_.data()});
    watch("router", routerLogits_);
    routeExperts_.assign(rows * K, 0);
    routeWeights_.assign(rows * K, 0.0f);
    std::vector<int>& order = routeOrder_;
    std::vector<float>& probs = routeProbs_;
    order.resize(E);
    probs.resize(E);
    for (int t = 0; t < n; ++t) {
      const float* logits = routerLogits_.data() + static_cast<size_t>(t) * E;
      const float most = *std::max_element(logits, logits + E);
      float sum = 0;
      for (int e = 0; e < E; ++e) sum += probs[e] = std::exp(logits[e] - most);
      for (int e = 0; e < E; ++e) probs[e] /= sum;
      for (int e = 0; e < E; ++e) order[e] = e;
      std::partial_sort(order.begin(), order.begin() + K, order.end(),
                        [&](int a, int b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); });
      float chosen = 0;
      for (int k = 0; k < K; ++k) chosen += probs[order[k]];
      for (int k = 0; k < K; ++k) {
        routeExperts_[static_cast<size_t>(t) * K + k] = order[k];
        routeWeights_[static_cast<size_t>(t) * K + k] = spec_.moe.normTopk ? probs[order[k]] / chosen : probs[order[k]];
      }
    }
    std::vector<int>& used = usedExperts_;
    used.assign(routeExperts_.begin(), routeExperts_.end());
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
    experts_->require(layer, used);

    moe_.assign(rows * H, 0.0f);
    std::vector<std::pair<int, float>>& routed = routedRows_;
    for (int e : used) {
      routed.clear();
      for (size_t i = 0; i < routeExperts_.size(); ++i) {
        if (routeExperts_[i] == e) routed.emplace_back(static_cast<int>(i / K), routeWeights_[i]);
      }
      const int m = static_cast<int>(routed.size());
      gathered_.resize(static_cast<size_t>(m) * H);
      for (int j = 0; j < m; ++j) {
        std::copy_n(xn_.data() + static_cast<size_t>(routed[j].first) * H, H, gathered_.data() + static_cast<size_t>(j) * H);
      }
      const ExpertWeights ew = experts_->expert(e);
      const auto& ex = static_cast<const CpuUnitWeights&>(*ew.unit);
      expertOut_.resize(static_cast<size_t>(m) * H);
      mlp(gathered_.data(), m, ex.matrix(ew.slot + kExpertGate), nullptr, ex.matrix(ew.slot + kExpertUp), nullptr,
          ex.matrix(ew.slot + kExpertDown), nullptr, expertOut_.data());
      for (int j = 0; j < m; ++j) {
        float* dst = moe_.data() + static_cast<size_t>(routed[j].first) * H;
        const float* src = expertOut_.data() + static_cast<size_t>(j) * H;
        for (int i = 0; i < H; ++i) dst[i] += src[i] * routed[j].second;
      }
    }
    watch("experts", moe_);
    if (w.matrix(kSharedGate).data) {
      mlp(xn_.data(), n, w.matrix(kSharedGate), nullptr, w.matrix(kSharedUp), nullptr, w.matrix(kSharedDown), nullptr,
          proj_.data());
      sharedGate_.resize(rows);
      cpu::gemm(xn_.data(), n, {w.matrix(kSharedExpertGate), nullptr, sharedGate_.data()});
      watch("shared_expert", proj_);
      for (int t = 0; t < n; ++t) {
        const float g = 1.0f / (1.0f + std::exp(-sharedGate_[t]));
        float* dst = moe_.data() + static_cast<size_t>(t) * H;
        const float* src = proj_.data() + static_cast<size_t>(t) * H;
        for (int i = 0; i < H; ++i) dst[i] += g * src[i];
      }
    }
    proj_.swap(moe_);
  }

  // Each head's values from llama.cpp's interleaved row order (v'[2i + s] = v[s * D/2 + i]) back
  // to transformers' order, exactly as undoing the permutation on the weight rows would give.
  void deinterleaveHeads(float* v, int heads, int D) {
    scratch_.resize(static_cast<size_t>(D));
    for (int h = 0; h < heads; ++h) {
      float* head = v + static_cast<size_t>(h) * D;
      for (int i = 0; i < D / 2; ++i) {
        scratch_[i] = head[2 * i];
        scratch_[D / 2 + i] = head[2 * i + 1];
      }
      std::copy(scratch_.begin(), scratch_.end(), head);
    }
  }

  void attention(const KvLayer& cache) {
    cpu::AttentionShape shape;
    shape.heads = spec_.numHeads;
    shape.kvHeads = spec_.numKvHeads;
    shape.headDim = spec_.headDim;
    shape.window = spec_.slidingWindow;
    shape.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(spec_.headDim)));
    shape.booleanMaskFault = fault_ == Fault::BooleanMask;
    cpu::attention(q_.data(), n_, pos0_, cache.k.data(), cache.v.data(), shape, attn_.data());
  }

  ModelSpec spec_;
  Fault fault_;
  bool unitsOutliveHost_;
  std::vector<KvLayer> kv_;
  std::unique_ptr<RopeTable> rope_;
  int ropePositions_ = 0;
  int maxTokens_ = 0;
  std::vector<float> finalNorm_;
  static size_t capacityOf(const std::unique_ptr<CpuUnitWeights>& w) { return w ? w->capacity : 0; }
  FittingPool<std::unique_ptr<CpuUnitWeights>, size_t (*)(const std::unique_ptr<CpuUnitWeights>&)> spare_{
      3, &CpuBackend::capacityOf};
  int n_ = 0, pos0_ = 0;
  int64_t kvStart_ = -1;
  std::vector<float> x_, xn_, q_, k_, v_, attn_, proj_, gate_, up_, scratch_;
  std::vector<float> routerLogits_, routeWeights_, moe_, gathered_, expertOut_, sharedGate_, routeProbs_;
  std::vector<int> routeOrder_, usedExperts_;
  std::vector<std::pair<int, float>> routedRows_;  // (token, weight) of one expert's rows
  std::vector<int> routeExperts_;
  ExpertSource* experts_ = nullptr;
  // The first activation of the latest forwardLayer or computeLogits that held NaN or Inf.
  const char* nonFinite_ = nullptr;
  void watch(const char* what, const std::vector<float>& values) {
    if (!nonFinite_ && !allFinite(values.data(), values.size())) nonFinite_ = what;
  }
};

}  // namespace

std::unique_ptr<Backend> makeCpuBackend(const ModelSpec& spec, Fault fault, bool unitsOutliveHost) {
  return std::make_unique<CpuBackend>(spec, fault, unitsOutliveHost);
}

}  // namespace rb
