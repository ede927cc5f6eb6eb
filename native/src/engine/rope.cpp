#include "engine/rope.h"

#include <cmath>
#include <stdexcept>

namespace rb {

std::vector<float> ropeInvFreq(const ModelSpec& spec) {
  const int dim = spec.headDim;
  std::vector<float> inv(dim / 2);
  const float base = static_cast<float>(spec.ropeTheta);
  for (int i = 0; i < dim / 2; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    inv[i] = 1.0f / std::pow(base, exponent);
  }
  const RopeSpec& r = spec.rope;
  if (r.type == RopeSpec::Type::Linear) {
    for (auto& f : inv) f /= static_cast<float>(r.factor);
  } else if (r.type == RopeSpec::Type::Factors) {
    if (r.factors.size() != inv.size()) throw std::invalid_argument("rope_freqs must hold one factor per frequency (head_dim / 2)");
    for (size_t i = 0; i < inv.size(); ++i) inv[i] /= r.factors[i];
  } else if (r.type == RopeSpec::Type::Llama3) {
    const float factor = static_cast<float>(r.factor);
    const float low = static_cast<float>(r.lowFreqFactor);
    const float high = static_cast<float>(r.highFreqFactor);
    const float oldLen = static_cast<float>(r.originalMaxPositions);
    const float lowWavelen = oldLen / low;
    const float highWavelen = oldLen / high;
    const float pi = static_cast<float>(M_PI);
    for (auto& f : inv) {
      float wavelen = 2.0f * pi / f;
      float scaled = wavelen > lowWavelen ? f / factor : f;
      bool medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
      if (medium) {
        float smooth = (oldLen / wavelen - low) / (high - low);
        scaled = (1.0f - smooth) * scaled / factor + smooth * scaled;
      }
      f = scaled;
    }
  }
  return inv;
}

RopeTable::RopeTable(const ModelSpec& spec, int positions, bool adjacentPairs)
    : half_(spec.headDim / 2), adjacentPairs_(adjacentPairs) {
  const std::vector<float> inv = ropeInvFreq(spec);
  cos_.resize(static_cast<size_t>(positions) * half_);
  sin_.resize(cos_.size());
  for (int p = 0; p < positions; ++p) {
    for (int i = 0; i < half_; ++i) {
      float freq = static_cast<float>(p) * inv[i];
      cos_[static_cast<size_t>(p) * half_ + i] = std::cos(freq);
      sin_[static_cast<size_t>(p) * half_ + i] = std::sin(freq);
    }
  }
}

void RopeTable::apply(float* x, int pos) const {
  const float* c = cos(pos);
  const float* s = sin(pos);
  const int stride = adjacentPairs_ ? 1 : half_;
  for (int i = 0; i < half_; ++i) {
    const int a = adjacentPairs_ ? 2 * i : i;
    float x1 = x[a];
    float x2 = x[a + stride];
    x[a] = x1 * c[i] - x2 * s[i];
    x[a + stride] = x2 * c[i] + x1 * s[i];
  }
}

}  // namespace rb
