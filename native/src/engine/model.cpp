#include "engine/model.h"

#include <sstream>
#include <stdexcept>

namespace rb {

int64_t TensorRef::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

const char* roleName(Role r) {
  static const char* names[kNumRoles] = {
      "input_layernorm", "q_proj", "k_proj", "v_proj", "o_proj", "q_bias", "k_bias",
      "v_bias", "o_bias", "q_norm", "k_norm", "post_attention_layernorm", "gate_proj",
      "up_proj", "down_proj", "gate_bias", "up_bias", "down_bias", "router", "shared_gate_proj",
      "shared_up_proj", "shared_down_proj", "shared_expert_gate"};
  return names[r];
}

const char* expertRoleName(ExpertRole r) {
  static const char* names[kNumExpertRoles] = {"gate_proj", "up_proj", "down_proj"};
  return names[r];
}

namespace {

std::string shapeString(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i];
  o << "]";
  return o.str();
}

void expectShape(const TensorRef& t, std::vector<int64_t> want, const std::string& what) {
  if (t.shape != want) {
    throw std::invalid_argument(what + " has shape " + shapeString(t.shape) + ", the model spec implies " +
                                shapeString(want));
  }
  // A quantized matrix's rows are whole blocks (storageBytes throws otherwise).
  const int64_t cols = t.shape.empty() ? 1 : t.shape.back();
  if (isQuantized(t.dtype) && t.numel() % cols == 0 && cols % blockElems(t.dtype) != 0) {
    throw std::invalid_argument(what + ": rows of " + std::to_string(cols) + " values are not whole " +
                                dtypeName(t.dtype) + " blocks");
  }
  if (t.bytes != storageBytes(t.dtype, t.numel())) {
    throw std::invalid_argument(what + ": byte count does not match its shape and dtype");
  }
}

}  // namespace

void validatePlan(const LoadPlan& plan) {
  const ModelSpec& s = plan.spec;
  if (s.hidden <= 0 || s.intermediate <= 0 || s.numLayers <= 0 || s.numHeads <= 0 || s.numKvHeads <= 0 ||
      s.headDim <= 0 || s.vocab <= 0 || s.maxPositions <= 0) {
    throw std::invalid_argument("model spec has a non-positive dimension");
  }
  if (s.numHeads % s.numKvHeads != 0) {
    throw std::invalid_argument("num_attention_heads must be a multiple of num_key_value_heads");
  }
  if (s.headDim % 2 != 0) throw std::invalid_argument("head_dim must be even for RoPE");
  if (s.rope.type == RopeSpec::Type::Factors && s.rope.factors.size() != static_cast<size_t>(s.headDim / 2)) {
    throw std::invalid_argument("rope_freqs must hold head_dim / 2 = " + std::to_string(s.headDim / 2) + " factors, not " +
                                std::to_string(s.rope.factors.size()));
  }
  if (static_cast<int>(plan.layers.size()) != s.numLayers) {
    throw std::invalid_argument("plan has " + std::to_string(plan.layers.size()) + " layers, spec says " +
                                std::to_string(s.numLayers));
  }
  const int64_t H = s.hidden, I = s.intermediate, Q = int64_t(s.numHeads) * s.headDim,
                KV = int64_t(s.numKvHeads) * s.headDim;
  expectShape(plan.embed, {s.vocab, H}, "embed_tokens");
  expectShape(plan.lmHead, {s.vocab, H}, "lm_head");
  expectShape(plan.finalNorm, {H}, "norm");
  const MoeSpec& m = s.moe;
  const int64_t E = m.numExperts, SI = m.sharedIntermediate;
  if (m.numExperts < 0 || (m.numExperts > 0 && (m.topK < 1 || m.topK > m.numExperts || m.expertIntermediate <= 0)) ||
      m.sharedIntermediate < 0) {
    throw std::invalid_argument("mixture-of-experts spec needs 1 <= top-k <= experts and a positive expert intermediate size");
  }
  const std::vector<int64_t> want[kNumRoles] = {{H}, {Q, H}, {KV, H}, {KV, H}, {H, Q}, {Q}, {KV}, {KV}, {H},
                                                {s.headDim}, {s.headDim}, {H}, {I, H}, {I, H}, {H, I}, {I}, {I}, {H},
                                                {E, H}, {SI, H}, {SI, H}, {H, SI}, {1, H}};
  const int64_t EI = m.expertIntermediate;
  const std::vector<int64_t> wantExpert[kNumExpertRoles] = {{EI, H}, {EI, H}, {H, EI}};
  const Role attention[] = {kInputNorm, kQ, kK, kV, kO, kPostNorm};
  const Role dense[] = {kGate, kUp, kDown};
  const Role shared[] = {kSharedGate, kSharedUp, kSharedDown, kSharedExpertGate};
  for (size_t l = 0; l < plan.layers.size(); ++l) {
    const auto& layer = plan.layers[l];
    const std::string name = "layers." + std::to_string(l);
    auto require = [&](Role r) {
      if (!layer.tensors[r]) throw std::invalid_argument("layer " + std::to_string(l) + " has no " + roleName(r));
    };
    for (Role r : attention) require(r);
    if (layer.sparse()) {
      if (m.numExperts == 0) throw std::invalid_argument(name + " has a router but the spec has no experts");
      if (static_cast<int64_t>(layer.experts.size()) != E) {
        throw std::invalid_argument(name + " has " + std::to_string(layer.experts.size()) + " experts, the spec says " +
                                    std::to_string(E));
      }
      if (m.sharedIntermediate > 0) {
        for (Role r : shared) require(r);
      }
      for (Role r : dense) {
        if (layer.tensors[r]) throw std::invalid_argument(name + " is sparse but has a dense " + roleName(r));
      }
    } else {
      for (Role r : dense) require(r);
      if (!layer.experts.empty()) throw std::invalid_argument(name + " has experts but no router");
    }
    if (s.qkNorm && (!layer.tensors[kQNorm] || !layer.tensors[kKNorm])) {
      throw std::invalid_argument("layer " + std::to_string(l) + " needs q_norm and k_norm");
    }
    for (int r = 0; r < kNumRoles; ++r) {
      if (layer.tensors[r]) expectShape(*layer.tensors[r], want[r], name + "." + roleName(static_cast<Role>(r)));
    }
    for (size_t e = 0; e < layer.experts.size(); ++e) {
      for (int r = 0; r < kNumExpertRoles; ++r) {
        expectShape(layer.experts[e][r], wantExpert[r],
                    name + ".experts." + std::to_string(e) + "." + expertRoleName(static_cast<ExpertRole>(r)));
      }
    }
  }
}

}  // namespace rb
