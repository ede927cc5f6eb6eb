// Rotary position embedding tables, computed the way transformers does it in float32
// (inv_freq from float32 pow, freqs = float(pos) * inv_freq, then cos/sin in float32), so that
// long prompts do not drift from the reference.
#pragma once

#include <vector>

#include "engine/model.h"

namespace rb {

std::vector<float> ropeInvFreq(const ModelSpec& spec);

class RopeTable {
 public:
  // `adjacentPairs` is the wrong convention (GPT-J style), available only as a test fault.
  RopeTable(const ModelSpec& spec, int positions, bool adjacentPairs = false);
  int half() const { return half_; }
  const float* cos(int pos) const { return cos_.data() + static_cast<size_t>(pos) * half_; }
  const float* sin(int pos) const { return sin_.data() + static_cast<size_t>(pos) * half_; }

  // Rotates `x` (one head, head_dim values) in place, rotate_half convention: pairs (i, i + d/2).
  void apply(float* x, int pos) const;

 private:
  int half_;
  bool adjacentPairs_;
  std::vector<float> cos_, sin_;
};

}  // namespace rb
