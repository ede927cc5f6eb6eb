// The CUDA backend's kernels, run on host threads (src/cuda/kernel_emulation.h) and compared with
// the CPU backend's own kernels: the logic of every kernel is checked on machines without a GPU.
// Built and run by test/cuda/kernels-emulated.test.ts:
//   c++ -std=c++17 -O2 -pthread -DRB_KERNEL_EMULATION -Inative/src native/test/kernels_test.cpp
//       native/src/engine/cpu_kernels.cpp native/src/engine/rope.cpp native/src/engine/dtype.cpp
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_kernels.cu"
#include "engine/cpu_kernels.h"
#include "engine/dtype.h"
#include "engine/rope.h"

namespace {

int checks = 0, failures = 0;

void expect(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

// max |a - b| / (1 + max |b|): a scale-aware tolerance for results whose summation order differs.
double relErr(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  return a.size() == b.size() ? worst / (1 + scale) : INFINITY;
}

std::vector<float> randoms(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16);
}

void testConvertAndEmbedding(std::mt19937& rng) {
  std::vector<uint16_t> bf(1000), f16(1000);
  for (size_t i = 0; i < bf.size(); ++i) bf[i] = toBf16(randoms(1, rng, 3.0f)[0]);
  // Every f16 pattern class: zeros, subnormals, normals, infinities, NaN.
  for (size_t i = 0; i < f16.size(); ++i) f16[i] = static_cast<uint16_t>((i * 2654435761u) >> 16);
  f16[0] = 0x0000, f16[1] = 0x8000, f16[2] = 0x0001, f16[3] = 0x03ff, f16[4] = 0x7c00, f16[5] = 0xfc00, f16[6] = 0x7e00;
  for (auto [type, src, dt] : {std::tuple{rb::cuda::kBF16, &bf, rb::DType::BF16}, std::tuple{rb::cuda::kF16, &f16, rb::DType::F16}}) {
    std::vector<float> got(src->size()), want(src->size());
    rb::cuda::convertToF32(type, src->data(), got.data(), got.size(), nullptr);
    rb::convertToF32(dt, src->data(), want.data(), want.size());
    expect(std::memcmp(got.data(), want.data(), got.size() * 4) == 0, std::string("convert ") + rb::dtypeName(dt) + " bit-exact");
  }
  // Embedding: rows of a bf16 table gathered by id, and the identity gather the engine uses.
  const int dim = 70, rows = 9;
  std::vector<uint16_t> table(static_cast<size_t>(dim) * rows);
  for (auto& x : table) x = toBf16(randoms(1, rng)[0]);
  const std::vector<int32_t> ids = {3, 0, 8, 3};
  std::vector<float> got(ids.size() * dim), want(ids.size() * dim);
  rb::cuda::embedding(rb::cuda::kBF16, table.data(), ids.data(), static_cast<int>(ids.size()), dim, got.data(), nullptr);
  for (size_t t = 0; t < ids.size(); ++t) rb::convertToF32(rb::DType::BF16, table.data() + ids[t] * dim, want.data() + t * dim, dim);
  expect(got == want, "embedding gather (bf16)");
  std::vector<float> f32table = randoms(static_cast<size_t>(dim) * 3, rng), same(f32table.size());
  rb::cuda::embedding(rb::cuda::kF32, f32table.data(), nullptr, 3, dim, same.data(), nullptr);
  expect(same == f32table, "embedding identity rows (f32)");
}

void testRmsnorm(std::mt19937& rng) {
  for (int dim : {64, 128, 576, 2048}) {
    const int rows = 3;
    auto x = randoms(static_cast<size_t>(rows) * dim, rng, 2.0f), w = randoms(dim, rng);
    std::vector<float> got(x.size()), want(x.size());
    rb::cuda::rmsnorm(x.data(), w.data(), rows, dim, 1e-5f, got.data(), nullptr);
    rb::cpu::rmsnorm(x.data(), w.data(), rows, dim, 1e-5f, want.data());
    expect(relErr(got, want) < 1e-6, "rmsnorm dim " + std::to_string(dim));
    std::vector<float> inPlace = x;
    rb::cuda::rmsnorm(inPlace.data(), w.data(), rows, dim, 1e-5f, inPlace.data(), nullptr);
    expect(inPlace == got, "rmsnorm in place dim " + std::to_string(dim));
  }
}

void testRope(std::mt19937& rng) {
  rb::ModelSpec spec;
  spec.headDim = 64;
  spec.ropeTheta = 500000;
  spec.rope.type = rb::RopeSpec::Type::Llama3;
  spec.rope.factor = 32;
  spec.rope.lowFreqFactor = 1;
  spec.rope.highFreqFactor = 4;
  spec.rope.originalMaxPositions = 8192;
  for (bool adjacent : {false, true}) {
    rb::RopeTable table(spec, 40, adjacent);
    const int n = 3, heads = 5, pos0 = 17, stride = heads * spec.headDim + 8;  // rows wider than the heads (q in a fused row)
    auto x = randoms(static_cast<size_t>(n) * stride, rng);
    std::vector<float> want = x, got = x;
    for (int t = 0; t < n; ++t)
      for (int h = 0; h < heads; ++h) table.apply(want.data() + t * stride + h * spec.headDim, pos0 + t);
    rb::cuda::rope(got.data(), n, heads, spec.headDim, stride, pos0, table.cos(0), table.sin(0), adjacent, nullptr);
    expect(got == want, std::string("rope bit-exact") + (adjacent ? " (wrong-rope fault)" : ""));
  }
  // GGUF llama files store each head's Q/K rows interleaved (row 2i + s holds row s * D/2 + i);
  // the CUDA backend rotates those adjacent pairs instead of restoring the order, which must give
  // the interleaved image of the rotation of transformers' order, bit for bit.
  rb::RopeTable table(spec, 40, false);
  const int D = spec.headDim, heads = 3;
  auto x = randoms(static_cast<size_t>(heads) * D, rng);
  std::vector<float> inter(x.size());
  for (int h = 0; h < heads; ++h)
    for (int s = 0; s < 2; ++s)
      for (int i = 0; i < D / 2; ++i) inter[h * D + 2 * i + s] = x[h * D + s * D / 2 + i];
  rb::cuda::rope(x.data(), 1, heads, D, heads * D, 9, table.cos(0), table.sin(0), false, nullptr);
  rb::cuda::rope(inter.data(), 1, heads, D, heads * D, 9, table.cos(0), table.sin(0), true, nullptr);
  bool same = true;
  for (int h = 0; h < heads; ++h)
    for (int s = 0; s < 2; ++s)
      for (int i = 0; i < D / 2; ++i) same = same && inter[h * D + 2 * i + s] == x[h * D + s * D / 2 + i];
  expect(same, "rope on interleaved Q/K rows (adjacent pairs) = interleaved rope of transformers' order");
}

// The CPU backend's attention, for one layer's cache.
std::vector<float> attentionRef(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v, int n,
                                int pos0, int heads, int kvHeads, int D, int window, bool booleanMask) {
  const int Q = heads * D, KV = kvHeads * D, group = heads / kvHeads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  std::vector<float> out(static_cast<size_t>(n) * Q), scores(pos0 + n);
  for (int t = 0; t < n; ++t) {
    for (int h = 0; h < heads; ++h) {
      const int pos = pos0 + t;
      int first = window > 0 ? std::max(0, pos - window + 1) : 0, last = pos;
      if (booleanMask) first = 0, last = pos0 + n - 1;
      const int g = h / group;
      float m = -INFINITY;
      for (int j = first; j <= last; ++j) {
        float s = 0;
        for (int d = 0; d < D; ++d) s += q[t * Q + h * D + d] * k[j * KV + g * D + d];
        s *= scale;
        if (booleanMask) s += j <= pos ? 1.0f : 0.0f;
        scores[j] = s;
        m = std::max(m, s);
      }
      float sum = 0;
      for (int j = first; j <= last; ++j) sum += scores[j] = std::exp(scores[j] - m);
      for (int j = first; j <= last; ++j)
        for (int d = 0; d < D; ++d) out[t * Q + h * D + d] += scores[j] / sum * v[j * KV + g * D + d];
    }
  }
  return out;
}

void testAttention(std::mt19937& rng) {
  struct Case {
    const char* name;
    int n, pos0, heads, kvHeads, D, window;
    bool booleanMask;
  };
  const Case cases[] = {
      {"prefill GQA", 6, 0, 4, 2, 64, 0, false},
      {"decode GQA", 1, 9, 4, 2, 64, 0, false},
      {"decode MQA head_dim 256", 1, 5, 3, 1, 256, 0, false},
      {"prefill MHA head_dim 2", 5, 0, 2, 2, 2, 0, false},
      {"prefill sliding window", 7, 0, 2, 1, 32, 3, false},
      {"decode sliding window", 1, 11, 2, 1, 32, 4, false},
      {"boolean-mask fault", 4, 2, 2, 2, 16, 0, true},
      {"decode over 3 key tiles", 1, 300, 2, 1, 64, 0, false},
      {"prefill after a cached prefix", 3, 130, 2, 2, 128, 0, false},
  };
  for (const Case& c : cases) {
    const int total = c.pos0 + c.n;
    auto q = randoms(static_cast<size_t>(c.n) * c.heads * c.D, rng);
    auto k = randoms(static_cast<size_t>(total) * c.kvHeads * c.D, rng);
    auto v = randoms(static_cast<size_t>(total) * c.kvHeads * c.D, rng);
    std::vector<float> got(q.size());
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.D)));
    rb::cuda::attention(q.data(), k.data(), v.data(), got.data(), c.n, c.pos0, c.heads, c.kvHeads, c.D, c.window, scale,
                        c.booleanMask, nullptr);
    const auto want = attentionRef(q, k, v, c.n, c.pos0, c.heads, c.kvHeads, c.D, c.window, c.booleanMask);
    const double err = relErr(got, want);
    expect(err < 2e-6, std::string("attention ") + c.name + " (rel err " + std::to_string(err) + ")");
  }
}

// The CPU backend's product (its portable kernels here: this file is built without AVX flags).
void cpuGemm(const float* X, int n, int in, const std::vector<float>& W, int out, const float* bias, float* Y) {
  const rb::cpu::WeightMatrix w{rb::DType::F32, out, in, reinterpret_cast<const uint8_t*>(W.data())};
  rb::cpu::gemm(X, n, rb::cpu::GemmJob{w, bias, Y});
}

void testGemm(std::mt19937& rng) {
  for (int n : {1, 2, 3, 5, 8, 9, 64, 70}) {
    for (int in : {64, 67, 576}) {
      for (int out : {1, 63, 130}) {
        for (bool withBias : {false, true}) {
          auto X = randoms(static_cast<size_t>(n) * in, rng), W = randoms(static_cast<size_t>(out) * in, rng);
          auto b = randoms(out, rng);
          std::vector<float> got(static_cast<size_t>(n) * out, NAN), want(got.size());
          rb::cuda::gemm(X.data(), n, in, W.data(), out, withBias ? b.data() : nullptr, got.data(), nullptr);
          cpuGemm(X.data(), n, in, W, out, withBias ? b.data() : nullptr, want.data());
          const double err = relErr(got, want);
          expect(err < 1e-5, "gemm n=" + std::to_string(n) + " in=" + std::to_string(in) + " out=" + std::to_string(out) +
                                 (withBias ? " +bias" : "") + " (rel err " + std::to_string(err) + ")");
        }
      }
    }
  }
  // A row offset that is not 16-byte aligned takes the scalar path of the decode kernel.
  const int in = 68, out = 33;
  auto X = randoms(in + 1, rng), W = randoms(static_cast<size_t>(out) * in, rng);
  std::vector<float> got(out), want(out);
  rb::cuda::gemm(X.data() + 1, 1, in, W.data(), out, nullptr, got.data(), nullptr);
  cpuGemm(X.data() + 1, 1, in, W, out, nullptr, want.data());
  expect(relErr(got, want) < 1e-5, "gemv unaligned input");
}

void testElementwise(std::mt19937& rng) {
  const int rows = 3, out = 37;
  auto y = randoms(static_cast<size_t>(rows) * out, rng), bias = randoms(out, rng);
  auto got = y, want = y;
  rb::cuda::addBias(got.data(), bias.data(), rows, out, nullptr);
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) want[r * out + o] += bias[o];
  expect(got == want, "addBias");
  auto x = randoms(1000, rng), d = randoms(1000, rng);
  auto sum = x;
  rb::cuda::add(sum.data(), d.data(), sum.size(), nullptr);
  bool ok = true;
  for (size_t i = 0; i < x.size(); ++i) ok = ok && sum[i] == x[i] + d[i];
  expect(ok, "add");
  auto gate = randoms(1000, rng, 3.0f), up = randoms(1000, rng);
  auto g1 = gate, g2 = gate;
  rb::cuda::swiglu(g1.data(), up.data(), g1.size(), nullptr);
  rb::cpu::swiglu(g2.data(), up.data(), g2.size());
  expect(relErr(g1, g2) < 1e-6, "swiglu");
}

void testArgmax(std::mt19937& rng) {
  auto check = [](const std::vector<float>& x, int32_t expected, const std::string& what) {
    int32_t got = -1;
    rb::cuda::argmax(x.data(), static_cast<int>(x.size()), &got, nullptr);
    expect(got == expected, "argmax " + what + ": got " + std::to_string(got) + ", want " + std::to_string(expected));
  };
  auto x = randoms(49152, rng);
  check(x, static_cast<int32_t>(std::max_element(x.begin(), x.end()) - x.begin()), "random vocab");
  std::vector<float> ties(5000, 1.0f);
  ties[4000] = 7.0f, ties[1234] = 7.0f, ties[4999] = 7.0f;
  check(ties, 1234, "ties keep the first index");
  check(std::vector<float>(300, -INFINITY), 0, "all -inf");
  std::vector<float> nan(100, -1.0f);
  nan[3] = NAN, nan[50] = 2.0f;
  check(nan, 50, "NaN never wins");
  check(std::vector<float>{-5.0f}, 0, "one value");
}

}  // namespace

int main() {
  std::mt19937 rng(1234);
  testConvertAndEmbedding(rng);
  testRmsnorm(rng);
  testRope(rng);
  testAttention(rng);
  testGemm(rng);
  testElementwise(rng);
  testArgmax(rng);
  if (failures > 0) {
    std::printf("%d of %d checks failed\n", failures, checks);
    return 1;
  }
  std::printf("all %d checks passed\n", checks);
  return 0;
}
