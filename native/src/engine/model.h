// The load plan the engine receives: model shape plus where every tensor's bytes live.
// TypeScript builds it from config.json and safetensors headers; the engine never parses JSON.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rb {

enum class DType { F32, F16, BF16 };

size_t dtypeSize(DType t);
const char* dtypeName(DType t);

struct TensorRef {
  std::string file;
  uint64_t offset = 0;
  uint64_t bytes = 0;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  int64_t numel() const;
};

struct RopeSpec {
  enum class Type { Default, Linear, Llama3 };
  Type type = Type::Default;
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int originalMaxPositions = 8192;
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
};

// Roles of the tensors of one decoder layer. Optional roles may be absent.
enum Role : int {
  kInputNorm, kQ, kK, kV, kO, kQBias, kKBias, kVBias, kOBias, kQNorm, kKNorm,
  kPostNorm, kGate, kUp, kDown, kGateBias, kUpBias, kDownBias, kNumRoles
};
const char* roleName(Role r);

struct LayerPlan {
  std::array<std::optional<TensorRef>, kNumRoles> tensors;
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
