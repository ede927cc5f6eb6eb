// The small interface a compute backend (CPU now, CUDA later) implements. The engine owns
// streaming, timing and sampling; a backend owns weights in compute form, the hidden state
// and the KV cache.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.h"

namespace rb {

// Where one tensor of a streamed unit sits in the unit's host buffer.
struct HostSlice {
  bool present = false;
  DType dtype = DType::F32;
  size_t offset = 0;
  int64_t numel = 0;
};

// The raw bytes of one streamed unit (a decoder layer, or the lm_head), as read from disk.
struct HostUnit {
  int unit = -1;
  std::vector<uint8_t> bytes;
  std::vector<HostSlice> slices;  // layer: indexed by Role; head: slot 0 is lm_head
  int64_t loadNs = 0;
  uint64_t bytesRead = 0;
  const void* data(size_t slot) const { return bytes.data() + slices[slot].offset; }
};

// Weights of one unit in the backend's compute-ready form.
class UnitWeights {
 public:
  virtual ~UnitWeights() = default;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // Sizes the KV cache of every layer for a sequence of up to `maxTokens` positions.
  virtual void resetCache(int maxTokens) = 0;
  virtual void setFinalNorm(const std::vector<float>& weight) = 0;

  // create_layer: host bytes to compute-ready weights.
  virtual std::unique_ptr<UnitWeights> createUnit(const HostUnit& host) = 0;
  // Hands weights back once a streamed unit is done, so buffers can be reused.
  virtual void releaseUnit(std::unique_ptr<UnitWeights> weights) = 0;

  // Sets the hidden state to `n` embedding rows (f32, n x hidden) for positions pos0...
  virtual void setHidden(const float* rows, int n, int pos0) = 0;
  // Runs decoder layer `layer` on the hidden state in place. Returns the nanoseconds spent
  // writing K/V into the cache (kv_fill), which are part of the call's duration.
  virtual int64_t forwardLayer(int layer, const UnitWeights& weights) = 0;
  // Final norm and lm_head on the last position; writes vocab logits.
  virtual void computeLogits(const UnitWeights& head, float* logits) = 0;
};

}  // namespace rb
