#include "engine/cpu_backend.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "engine/buffer_pool.h"
#include "engine/cpu_kernels.h"
#include "engine/dtype.h"
#include "engine/timer.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rb {
namespace {

// A unit's tensors converted to f32 in one arena; slots follow HostUnit::slices.
class CpuUnitWeights : public UnitWeights {
 public:
  std::vector<float> arena;
  std::vector<const float*> slots;
  const float* at(size_t slot) const { return slot < slots.size() ? slots[slot] : nullptr; }
};

int maxThreads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

int threadIndex() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

class CpuBackend : public Backend {
 public:
  CpuBackend(const ModelSpec& spec, Fault fault) : spec_(spec), fault_(fault), kv_(spec.numLayers) {}

  std::string name() const override { return "cpu"; }

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
    scores_.assign(static_cast<size_t>(maxThreads()) * maxTokens, 0.0f);
  }

  void setFinalNorm(const std::vector<float>& weight) override { finalNorm_ = weight; }

  std::unique_ptr<UnitWeights> createUnit(const HostUnit& host) override {
    size_t total = 0;
    for (const auto& s : host.slices) total += s.present ? static_cast<size_t>(s.numel) : 0;
    std::unique_ptr<CpuUnitWeights> w = spare_.take(total);
    if (!w) w = std::make_unique<CpuUnitWeights>();
    w->arena.resize(total);
    w->slots.assign(host.slices.size(), nullptr);
    size_t at = 0;
    for (size_t i = 0; i < host.slices.size(); ++i) {
      const HostSlice& s = host.slices[i];
      if (!s.present) continue;
      convertToF32(s.dtype, host.data(i), w->arena.data() + at, static_cast<size_t>(s.numel));
      w->slots[i] = w->arena.data() + at;
      at += static_cast<size_t>(s.numel);
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

  int64_t forwardLayer(int layer, const UnitWeights& weights) override {
    const auto& w = static_cast<const CpuUnitWeights&>(weights);
    const int n = n_, H = spec_.hidden, D = spec_.headDim;
    const int Q = spec_.numHeads * D, KV = spec_.numKvHeads * D, I = spec_.intermediate;
    const float eps = static_cast<float>(spec_.rmsEps);
    const size_t rows = static_cast<size_t>(n);

    xn_.resize(rows * H);
    q_.resize(rows * Q);
    k_.resize(rows * KV);
    v_.resize(rows * KV);
    attn_.resize(rows * Q);
    proj_.resize(rows * H);

    cpu::rmsnorm(x_.data(), w.at(kInputNorm), n, H, eps, xn_.data());
    cpu::matmul(xn_.data(), n, H, w.at(kQ), Q, w.at(kQBias), q_.data());
    cpu::matmul(xn_.data(), n, H, w.at(kK), KV, w.at(kKBias), k_.data());
    cpu::matmul(xn_.data(), n, H, w.at(kV), KV, w.at(kVBias), v_.data());
    if (spec_.qkNorm) {
      cpu::rmsnorm(q_.data(), w.at(kQNorm), n * spec_.numHeads, D, eps, q_.data());
      cpu::rmsnorm(k_.data(), w.at(kKNorm), n * spec_.numKvHeads, D, eps, k_.data());
    }
    for (int t = 0; t < n; ++t) {
      for (int h = 0; h < spec_.numHeads; ++h) rope_->apply(q_.data() + static_cast<size_t>(t) * Q + h * D, pos0_ + t);
      for (int h = 0; h < spec_.numKvHeads; ++h) rope_->apply(k_.data() + static_cast<size_t>(t) * KV + h * D, pos0_ + t);
    }

    const int64_t kvStart = nowNs();
    KvLayer& cache = kv_[layer];
    std::copy(k_.begin(), k_.end(), cache.k.begin() + static_cast<size_t>(pos0_) * KV);
    std::copy(v_.begin(), v_.end(), cache.v.begin() + static_cast<size_t>(pos0_) * KV);
    const int64_t kvFillNs = nowNs() - kvStart;

    attention(cache);
    cpu::matmul(attn_.data(), n, Q, w.at(kO), H, w.at(kOBias), proj_.data());
    for (size_t i = 0; i < rows * H; ++i) x_[i] += proj_[i];

    gate_.resize(rows * I);
    up_.resize(rows * I);
    cpu::rmsnorm(x_.data(), w.at(kPostNorm), n, H, eps, xn_.data());
    cpu::matmul(xn_.data(), n, H, w.at(kGate), I, w.at(kGateBias), gate_.data());
    cpu::matmul(xn_.data(), n, H, w.at(kUp), I, w.at(kUpBias), up_.data());
    cpu::swiglu(gate_.data(), up_.data(), rows * I);
    cpu::matmul(gate_.data(), n, I, w.at(kDown), H, w.at(kDownBias), proj_.data());
    for (size_t i = 0; i < rows * H; ++i) x_[i] += proj_[i];
    return kvFillNs;
  }

  void computeLogits(const UnitWeights& head, float* logits) override {
    const auto& w = static_cast<const CpuUnitWeights&>(head);
    const int H = spec_.hidden;
    std::vector<float> last(H);
    cpu::rmsnorm(x_.data() + static_cast<size_t>(n_ - 1) * H, finalNorm_.data(), 1, H,
                 static_cast<float>(spec_.rmsEps), last.data());
    cpu::matmul(last.data(), 1, H, w.at(0), spec_.vocab, nullptr, logits);
  }

 private:
  struct KvLayer {
    std::vector<float> k, v;  // [position][kv head][head_dim]
  };

  // Causal (optionally sliding-window) softmax attention of the n new queries over the cache.
  void attention(const KvLayer& cache) {
    const int n = n_, D = spec_.headDim, heads = spec_.numHeads;
    const int group = spec_.numHeads / spec_.numKvHeads;
    const int Q = heads * D, KV = spec_.numKvHeads * D;
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
    const int window = spec_.slidingWindow;
    const long work = static_cast<long>(n) * heads * (pos0_ + n) * D;
#pragma omp parallel for collapse(2) schedule(static) if (work >= (1L << 15))
    for (int t = 0; t < n; ++t) {
      for (int h = 0; h < heads; ++h) {
        const int pos = pos0_ + t;
        int first = window > 0 ? std::max(0, pos - window + 1) : 0;
        int last = pos;
        if (fault_ == Fault::BooleanMask) {
          first = 0;
          last = pos0_ + n - 1;
        }
        const int g = h / group;
        const float* q = q_.data() + static_cast<size_t>(t) * Q + h * D;
        float* scores = scores_.data() + static_cast<size_t>(threadIndex()) * maxTokens_;
        float maxScore = -INFINITY;
        for (int j = first; j <= last; ++j) {
          float s = cpu::dot(q, cache.k.data() + static_cast<size_t>(j) * KV + g * D, D) * scale;
          if (fault_ == Fault::BooleanMask) s += j <= pos ? 1.0f : 0.0f;
          scores[j] = s;
          maxScore = std::max(maxScore, s);
        }
        float sum = 0;
        for (int j = first; j <= last; ++j) {
          scores[j] = std::exp(scores[j] - maxScore);
          sum += scores[j];
        }
        float* out = attn_.data() + static_cast<size_t>(t) * Q + h * D;
        std::fill(out, out + D, 0.0f);
        for (int j = first; j <= last; ++j) {
          const float p = scores[j] / sum;
          const float* v = cache.v.data() + static_cast<size_t>(j) * KV + g * D;
          for (int d = 0; d < D; ++d) out[d] += p * v[d];
        }
      }
    }
  }

  ModelSpec spec_;
  Fault fault_;
  std::vector<KvLayer> kv_;
  std::unique_ptr<RopeTable> rope_;
  int ropePositions_ = 0;
  int maxTokens_ = 0;
  std::vector<float> finalNorm_;
  static size_t capacityOf(const std::unique_ptr<CpuUnitWeights>& w) { return w ? w->arena.capacity() : 0; }
  FittingPool<std::unique_ptr<CpuUnitWeights>, size_t (*)(const std::unique_ptr<CpuUnitWeights>&)> spare_{
      3, &CpuBackend::capacityOf};
  int n_ = 0, pos0_ = 0;
  std::vector<float> x_, xn_, q_, k_, v_, attn_, proj_, gate_, up_, scores_;
};

}  // namespace

std::unique_ptr<Backend> makeCpuBackend(const ModelSpec& spec, Fault fault) {
  return std::make_unique<CpuBackend>(spec, fault);
}

}  // namespace rb
