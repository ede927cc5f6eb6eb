// Token selection after the logits: the transformers order of processors (repetition penalty,
// then temperature, top-k, top-p), then argmax (greedy) or a draw from a seeded RNG.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace rb {

struct SamplingOptions {
  bool greedy = true;
  float temperature = 1.0f;
  int topK = 0;          // 0: off
  float topP = 1.0f;     // 1: off
  float repetitionPenalty = 1.0f;  // 1: off
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  // `context` holds every token so far (prompt and generated), for the repetition penalty.
  int32_t next(const float* logits, int vocab, const std::vector<int32_t>& context);

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
  std::vector<float> scratch_;
};

// Index of the first maximum, like torch.argmax.
int32_t argmax(const float* x, int n);

}  // namespace rb
