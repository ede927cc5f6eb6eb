// The load plan the engine receives: model shape plus where every tensor's bytes live.
// TypeScript builds it from config.json and safetensors headers; the engine never parses JSON.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rb {

// Tensor storage types: the three safetensors float types and the GGUF (ggml) block-quantized
// types. Quantized types store blocks of `blockElems` values in `blockBytes` bytes; a row of a
// matrix is always a whole number of blocks. Compute is f32 for every type.
enum class DType { F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K };

const char* dtypeName(DType t);
// The dtype named `name` (as dtypeName spells it); throws std::invalid_argument for others.
DType dtypeFromName(const std::string& name);
// Values per block (1 for the float types) and bytes per block.
int blockElems(DType t);
int blockBytes(DType t);
bool isQuantized(DType t);
// Bytes of `count` consecutive values; throws std::invalid_argument when `count` is not a whole
// number of blocks.
uint64_t storageBytes(DType t, int64_t count);

struct TensorRef {
  std::string file;
  uint64_t offset = 0;
  uint64_t bytes = 0;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  int64_t numel() const;
};

struct RopeSpec {
  // Factors: GGUF rope_freqs.weight, one divisor per frequency (Llama 3 scaling as llama.cpp stores it).
  enum class Type { Default, Linear, Llama3, Factors };
  Type type = Type::Default;
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int originalMaxPositions = 8192;
  std::vector<float> factors;
};

// Mixture-of-experts routing, as transformers does it: softmax over the router logits, the top-k
// experts (ties to the lower index), their weights renormalised to sum 1 when normTopk. A layer
// is sparse when its plan has a router; numExperts 0: a dense model.
struct MoeSpec {
  int numExperts = 0;
  int topK = 0;
  int expertIntermediate = 0;
  int sharedIntermediate = 0;  // Qwen2-MoE's shared expert; 0: none
  bool normTopk = false;
};

struct ModelSpec {
  int hidden = 0;
  int intermediate = 0;
  int numLayers = 0;
  int numHeads = 0;
  int numKvHeads = 0;
  int headDim = 0;
  int vocab = 0;
  int maxPositions = 0;
  double rmsEps = 1e-6;
  double ropeTheta = 10000.0;
  RopeSpec rope;
  bool qkNorm = false;
  int slidingWindow = 0;  // 0: full causal attention
  // GGUF llama files store each head's Q and K rows interleaved (llama.cpp's converter permutes
  // them for its RoPE); the backend puts q and k back in transformers' order after projecting.
  bool qkRowsInterleaved = false;
  MoeSpec moe;
};

// Roles of the tensors of one decoder layer. Optional roles may be absent: a dense layer has
// gate/up/down, a sparse one the router (and, in Qwen2-MoE, the shared expert and its gate).
enum Role : int {
  kInputNorm, kQ, kK, kV, kO, kQBias, kKBias, kVBias, kOBias, kQNorm, kKNorm,
  kPostNorm, kGate, kUp, kDown, kGateBias, kUpBias, kDownBias,
  kRouter, kSharedGate, kSharedUp, kSharedDown, kSharedExpertGate, kNumRoles
};
const char* roleName(Role r);

// The three matrices of one routed expert, in this order wherever an expert's tensors are slots.
enum ExpertRole : int { kExpertGate, kExpertUp, kExpertDown, kNumExpertRoles };
const char* expertRoleName(ExpertRole r);

struct LayerPlan {
  std::array<std::optional<TensorRef>, kNumRoles> tensors;
  std::vector<std::array<TensorRef, kNumExpertRoles>> experts;  // a sparse layer's routed experts
  bool sparse() const { return tensors[kRouter].has_value(); }
};

struct LoadPlan {
  ModelSpec spec;
  TensorRef embed;
  TensorRef finalNorm;
  TensorRef lmHead;
  std::vector<LayerPlan> layers;
};

// Throws std::invalid_argument when the plan is internally inconsistent (shapes vs spec).
void validatePlan(const LoadPlan& plan);

}  // namespace rb
