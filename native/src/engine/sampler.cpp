#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace rb {

int32_t argmax(const float* x, int n) {
  int32_t best = 0;
  for (int i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return best;
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  if (!options.greedy && !(options.temperature > 0.0f)) {
    throw std::invalid_argument("temperature must be > 0 when sampling (use greedy for temperature 0)");
  }
  if (options.topK < 0) throw std::invalid_argument("top-k must be >= 0");
  if (!(options.topP > 0.0f && options.topP <= 1.0f)) throw std::invalid_argument("top-p must be in (0, 1]");
  if (!(options.repetitionPenalty > 0.0f)) throw std::invalid_argument("repetition penalty must be > 0");
}

int32_t Sampler::next(const float* logits, int vocab, const std::vector<int32_t>& context) {
  scratch_.assign(logits, logits + vocab);
  float* x = scratch_.data();
  if (options_.repetitionPenalty != 1.0f) {
    // Each distinct token is penalised once, whatever its count, as in transformers.
    std::vector<bool> seen(vocab, false);
    for (int32_t t : context) {
      if (t < 0 || t >= vocab || seen[t]) continue;
      seen[t] = true;
      x[t] = x[t] < 0 ? x[t] * options_.repetitionPenalty : x[t] / options_.repetitionPenalty;
    }
  }
  if (options_.greedy) return argmax(x, vocab);

  const float negInf = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < vocab; ++i) x[i] /= options_.temperature;
  if (options_.topK > 0 && options_.topK < vocab) {
    std::vector<float> sorted(x, x + vocab);
    std::nth_element(sorted.begin(), sorted.begin() + (options_.topK - 1), sorted.end(), std::greater<float>());
    const float kth = sorted[options_.topK - 1];
    for (int i = 0; i < vocab; ++i) {
      if (x[i] < kth) x[i] = negInf;  // ties with the k-th value survive, as in transformers
    }
  }
  const float maxLogit = *std::max_element(x, x + vocab);
  std::vector<double> probs(vocab);
  double sum = 0;
  for (int i = 0; i < vocab; ++i) {
    probs[i] = std::exp(static_cast<double>(x[i] - maxLogit));
    sum += probs[i];
  }
  for (auto& p : probs) p /= sum;
  if (options_.topP < 1.0f) {
    // Drop the least likely tokens whose cumulative mass stays within 1 - top_p; keep at least one.
    std::vector<int> order(vocab);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] < probs[b]; });
    double cumulative = 0;
    const double cut = 1.0 - options_.topP;
    for (int k = 0; k < vocab - 1; ++k) {
      cumulative += probs[order[k]];
      if (cumulative > cut) break;
      probs[order[k]] = 0;
    }
    double kept = std::accumulate(probs.begin(), probs.end(), 0.0);
    for (auto& p : probs) p /= kept;
  }
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  double r = uniform(rng_);
  double cumulative = 0;
  int32_t last = 0;
  for (int i = 0; i < vocab; ++i) {
    if (probs[i] <= 0) continue;
    cumulative += probs[i];
    last = i;
    if (r < cumulative) return i;
  }
  return last;
}

}  // namespace rb
