#include "engine/cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/cpu_kernels_isa.h"
#include "engine/dtype.h"
#include "engine/worker_pool.h"

namespace rb::cpu {
namespace {

using isa::kPanel;

// ---- portable kernels: plain loops the compiler vectorises for the baseline ISA -----------------

float portableDot(const float* a, const float* b, int n) {
  // Eight partial sums let the compiler use vector registers without reassociating.
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int k = 0;
  for (; k + 8 <= n; k += 8) {
    for (int u = 0; u < 8; ++u) s[u] += a[k + u] * b[k + u];
  }
  float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; k < n; ++k) sum += a[k] * b[k];
  return sum;
}

// Every row is widened once into f32 and then dotted with every token row: the vectoriser
// handles both loops, and for many token rows the widening is paid once per weight.
void portableRows(DType dtype, const float* X, size_t ldx, int n, const uint8_t* W, size_t rowBytes, int rows, int cols,
                  const float* bias, const float*, float* Y, size_t ldy) {
  static thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(cols));
  for (int r = 0; r < rows; ++r) {
    convertToF32(dtype, W + r * rowBytes, row.data(), row.size());
    for (int t = 0; t < n; ++t) Y[t * ldy + r] = (bias ? bias[r] : 0.0f) + portableDot(X + t * ldx, row.data(), cols);
  }
}

void portableScores(const float* q, const float* K, size_t stride, int count, int D, float scale, float* out) {
  for (int i = 0; i < count; ++i) out[i] = portableDot(q, K + i * stride, D) * scale;
}

float portableExpShifted(float* s, int count) {
  float maxScore = -INFINITY;
  for (int i = 0; i < count; ++i) maxScore = std::max(maxScore, s[i]);
  float sum = 0;
  for (int i = 0; i < count; ++i) {
    s[i] = std::exp(s[i] - maxScore);
    sum += s[i];
  }
  return sum;
}

void portableSoftmaxMix(float* s, int count, const float* V, size_t stride, int D, float* out) {
  const float sum = portableExpShifted(s, count);
  std::fill(out, out + D, 0.0f);
  for (int i = 0; i < count; ++i) {
    const float p = s[i] / sum;
    const float* v = V + i * stride;
    for (int d = 0; d < D; ++d) out[d] += p * v[d];
  }
}

void portableSwiglu(float* gate, const float* up, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

// No panel kernel: without SIMD, packing panels did not pay (measured 3x slower prefill).
const isa::Kernels kPortable{"portable", kPanel, nullptr, &portableRows, &portableScores, &portableSoftmaxMix,
                               &portableExpShifted, nullptr, &portableSwiglu};

// ---- choice of instruction set ----------------------------------------------------------------

// What the CPU supports, as {AVX2+FMA+F16C, AVX-512F+BW+VL}. The checks also ask the OS (XGETBV)
// whether it saves the wider registers.
std::pair<bool, bool> cpuSimd() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  // The AVX-512 set also unpacks quantized blocks with AVX-512BW/VL byte masks.
  return {avx2, avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")};
#else
  return {false, false};
#endif
}

const isa::Kernels& chooseKernels() {
  const char* env = std::getenv("RABBIT_BENCH_CPU_KERNELS");
  const std::string wanted = env && *env ? env : "auto";
  const auto [hasAvx2, hasAvx512] = cpuSimd();
  const isa::Kernels* avx2 = hasAvx2 ? isa::avx2() : nullptr;
  const isa::Kernels* avx512 = avx2 && hasAvx512 ? isa::avx512(*avx2) : nullptr;
  if (wanted == "portable") return kPortable;
  if (wanted == "avx2" || wanted == "avx512") {
    const isa::Kernels* k = wanted == "avx2" ? avx2 : avx512;
    if (!k) throw std::runtime_error("RABBIT_BENCH_CPU_KERNELS=" + wanted + ", but this CPU or build does not have it");
    return *k;
  }
  if (wanted != "auto") {
    throw std::runtime_error("RABBIT_BENCH_CPU_KERNELS must be auto, avx512, avx2 or portable, not '" + wanted + "'");
  }
  return avx512 ? *avx512 : avx2 ? *avx2 : kPortable;
}

const isa::Kernels& kernels() {
  // Chosen once per process; a throw (bad override) leaves it unset, so every use reports it.
  static const isa::Kernels& chosen = chooseKernels();
  return chosen;
}

// ---- blocking and threading --------------------------------------------------------------------

// Below this many multiply-adds, waking worker threads costs more than it saves.
constexpr long kParallelMinWork = 1L << 15;
constexpr int kKBlock = 256;
constexpr int kMaxPanelWidth = 32;
// Up to this many token rows (decode; short prompts), weights are read in place.
constexpr int kDirectMaxRows = 8;
// Query rows per attention block: two of the AVX-512 panel kernel's 12-row tiles, four of AVX2's.
constexpr int kAttentionBlockRows = 24;

// Copies rows [first, first + width) x [k0, k0 + kc) of W into P as f32, k-major; rows past
// the matrix are zero. Rows are widened (or dequantized) whole, then transposed in one pass.
void packPanel(const isa::Kernels& k, const WeightMatrix& W, int first, int width, int k0, int kc, float* P) {
  alignas(64) float rows[kMaxPanelWidth * kKBlock];
  // k0 is a multiple of kKBlock, so of every block size.
  const size_t offset = storageBytes(W.dtype, k0);
  for (int j = 0; j < width; ++j) {
    float* row = rows + static_cast<size_t>(j) * kc;
    if (first + j < W.rows) convertToF32(W.dtype, W.row(first + j) + offset, row, static_cast<size_t>(kc));
    else std::fill(row, row + kc, 0.0f);
  }
  if (k.transposePanel) {
    k.transposePanel(rows, kc, P);
    return;
  }
  for (int j = 0; j < width; ++j) {
    for (int kk = 0; kk < kc; ++kk) P[kk * width + j] = rows[j * kc + kk];
  }
}

// `count` zeroed floats in `storage`, from a 64-byte boundary: the panel kernels load panels aligned.
float* zeroedPanels(std::vector<float>& storage, size_t count) {
  constexpr size_t kLine = 64 / sizeof(float);
  storage.resize(count + kLine);
  const uintptr_t at = reinterpret_cast<uintptr_t>(storage.data());
  float* panels = storage.data() + (kLine - (at / sizeof(float)) % kLine) % kLine;
  std::fill(panels, panels + count, 0.0f);
  return panels;
}

// The cached positions [first, last] a query at `pos` attends to, of the `total` in the cache.
std::pair<int, int> visibleKeys(const AttentionShape& shape, int pos, int total) {
  if (shape.booleanMaskFault) return {0, total - 1};
  return {shape.window > 0 ? std::max(0, pos - shape.window + 1) : 0, pos};
}

// Fault::BooleanMask: 1 added to the scores of the keys the query may see, 0 .. pos (`scores`
// starts at key 0), as a 0/1 mask added in place of -inf would.
void addBooleanMask(float* scores, int pos) {
  for (int j = 0; j <= pos; ++j) scores[j] += 1.0f;
}

// Query heads [begin, end) of the n x heads rows: dot products with each visible key, then the mix.
void attendByQuery(const isa::Kernels& k, const float* Q, int n, int pos0, const float* K, const float* V,
                   const AttentionShape& shape, float* out, int begin, int end) {
  const int D = shape.headDim, heads = shape.heads;
  const int group = heads / shape.kvHeads;
  const size_t KV = static_cast<size_t>(shape.kvHeads) * D;
  static thread_local std::vector<float> scores;
  for (int i = begin; i < end; ++i) {
    const int t = i / heads, h = i % heads;
    const int pos = pos0 + t;
    const auto [first, last] = visibleKeys(shape, pos, pos0 + n);
    const int count = last - first + 1;
    const size_t offset = static_cast<size_t>(first) * KV + static_cast<size_t>(h / group) * D;
    scores.resize(std::max(scores.size(), static_cast<size_t>(count)));
    const size_t row = (static_cast<size_t>(t) * heads + h) * D;
    k.scores(Q + row, K + offset, KV, count, D, shape.scale, scores.data());
    if (shape.booleanMaskFault) addBooleanMask(scores.data(), pos);
    k.softmaxMix(scores.data(), count, V + offset, KV, D, out + row);
  }
}

}  // namespace

void gemm(const float* X, int n, const GemmJob* jobs, int count) {
  const isa::Kernels& k = kernels();
  // A few rows read every weight once or twice: dot products straight from the stored bytes.
  // Many rows: k is split into blocks so an f32 panel (width x kKBlock) stays in L1 and a block
  // of X (n x kKBlock) in L2 while the panels pass over it.
  const bool direct = n <= kDirectMaxRows || k.panel == nullptr;
  const int width = direct ? kPanel : k.panelWidth;
  const auto blocksOf = [width](const WeightMatrix& W) { return (W.rows + width - 1) / width; };
  const int cols = jobs[0].W.cols;
  int totalBlocks = 0;
  long work = 0;
  for (int j = 0; j < count; ++j) {
    if (jobs[j].W.cols != cols) throw std::logic_error("fused gemm jobs must share their input width");
    totalBlocks += blocksOf(jobs[j].W);
    work += static_cast<long>(n) * cols * jobs[j].W.rows;
  }
  // Quantized types with per-block minimums need each token row's block sums (see XSums).
  static thread_local std::vector<float> xsum;
  const float* sums = nullptr;
  const auto hasMinimums = [](const GemmJob& j) {
    const DType t = j.W.dtype;
    return t == DType::Q4_1 || t == DType::Q5_1 || t == DType::Q2_K || t == DType::Q4_K || t == DType::Q5_K;
  };
  if (direct && cols % 32 == 0 && std::any_of(jobs, jobs + count, hasMinimums)) {
    const int stride = isa::XSums::stride(cols);
    xsum.resize(static_cast<size_t>(n) * stride);
    for (int t = 0; t < n; ++t) {
      const float* x = X + static_cast<size_t>(t) * cols;
      float* out = xsum.data() + static_cast<size_t>(t) * stride;
      for (int b = 0; b < cols / 16; ++b) {
        float s16 = 0;
        for (int k = 0; k < 16; ++k) s16 += x[16 * b + k];
        out[b] = s16;
      }
      for (int b = 0; b < cols / 32; ++b) out[cols / 16 + b] = out[2 * b] + out[2 * b + 1];
    }
    sums = xsum.data();
  }
  // Dynamic chunks: a thread the OS preempts (the prefetch thread shares the cores) delays only
  // its own chunk, not a fixed half of the blocks.
  const int chunk = std::max(1, totalBlocks / (computeThreads() * 8));
  const int kBlock = direct ? cols : kKBlock;
  for (int k0 = 0; k0 < cols; k0 += kBlock) {
    const int kc = std::min(kBlock, cols - k0);
    // Work item i: `width` output rows of one job.
    const auto blocks = [&](int begin, int end) {
      for (int i = begin; i < end; ++i) {
        int j = 0, b = i;
        while (b >= blocksOf(jobs[j].W)) b -= blocksOf(jobs[j++].W);
        const GemmJob& job = jobs[j];
        const WeightMatrix& W = job.W;
        const int first = b * width;
        const int rows = std::min(width, W.rows - first);
        const float* bias = job.bias ? job.bias + first : nullptr;
        if (direct) {
          k.rows(W.dtype, X, static_cast<size_t>(cols), n, W.row(first), W.rowBytes, rows, cols, bias, sums,
                 job.Y + first, static_cast<size_t>(W.rows));
        } else {
          alignas(64) float P[kMaxPanelWidth * kKBlock];
          packPanel(k, W, first, width, k0, kc, P);
          k.panel(X + k0, static_cast<size_t>(cols), n, P, kc, bias, k0 > 0, job.Y + first,
                  static_cast<size_t>(W.rows), rows);
        }
      }
    };
    if (work >= kParallelMinWork) parallelFor(totalBlocks, chunk, blocks);
    else blocks(0, totalBlocks);
  }
}

void attention(const float* Q, int n, int pos0, const float* K, const float* V, const AttentionShape& shape,
               float* out) {
  const isa::Kernels& k = kernels();
  const long work = static_cast<long>(n) * shape.heads * (pos0 + n) * shape.headDim;
  if (n <= kDirectMaxRows || k.panel == nullptr) {
    const auto queries = [&](int begin, int end) { attendByQuery(k, Q, n, pos0, K, V, shape, out, begin, end); };
    // Small chunks: causal rows grow with t, so equal static shares would leave one thread the tail.
    if (work >= kParallelMinWork) parallelFor(n * shape.heads, 4, queries);
    else queries(0, n * shape.heads);
    return;
  }
  const int D = shape.headDim, w = k.panelWidth;
  const int total = pos0 + n;
  const int keyPanels = (total + w - 1) / w;
  const int dPanels = (D + w - 1) / w;
  const size_t KV = static_cast<size_t>(shape.kvHeads) * D;
  // Per cache head: K^T as keyPanels panels of [D x w], V as dPanels panels of [keys x w], zero
  // past the last key and the last dimension, packed once and shared by every block of queries.
  static thread_local std::vector<float> ktStorage, vtStorage;
  const size_t ktHead = static_cast<size_t>(keyPanels) * w * D;
  const size_t vtHead = static_cast<size_t>(dPanels) * keyPanels * w * w;
  float* const kt = zeroedPanels(ktStorage, ktHead * shape.kvHeads);
  float* const vt = zeroedPanels(vtStorage, vtHead * shape.kvHeads);
  const auto pack = [&](int begin, int end) {
    for (int g = begin; g < end; ++g) {
      float* kHead = kt + ktHead * g;
      float* vHead = vt + vtHead * g;
      for (int key = 0; key < total; ++key) {
        const float* kr = K + key * KV + static_cast<size_t>(g) * D;
        const float* vr = V + key * KV + static_cast<size_t>(g) * D;
        float* kp = kHead + static_cast<size_t>(key / w) * w * D + key % w;
        for (int d = 0; d < D; ++d) kp[static_cast<size_t>(d) * w] = kr[d];
        for (int dp = 0; dp < dPanels; ++dp) {
          float* vp = vHead + (static_cast<size_t>(dp) * keyPanels * w + key) * w;
          for (int j = 0; j < std::min(w, D - dp * w); ++j) vp[j] = vr[dp * w + j];
        }
      }
    }
  };
  if (work >= kParallelMinWork) parallelFor(shape.kvHeads, 1, pack);
  else pack(0, shape.kvHeads);

  const int group = shape.heads / shape.kvHeads;
  const int positionsPerBlock = std::max(1, kAttentionBlockRows / group);
  const int blocksPerHead = (n + positionsPerBlock - 1) / positionsPerBlock;
  const auto blocks = [&](int begin, int end) {
    static thread_local std::vector<float> q, s, o, sums;
    for (int i = begin; i < end; ++i) {
      // The latest positions, which see the most keys, go first: the last chunks are the cheap ones.
      const int t0 = (blocksPerHead - 1 - i / shape.kvHeads) * positionsPerBlock;
      const int g = i % shape.kvHeads;
      const int t1 = std::min(n, t0 + positionsPerBlock);
      const int rows = (t1 - t0) * group;
      // The block's keys: from the first row's first to the last row's last, in whole panels.
      const int p0 = visibleKeys(shape, pos0 + t0, total).first / w;
      const int p1 = visibleKeys(shape, pos0 + t1 - 1, total).second / w + 1;
      const int span = (p1 - p0) * w;
      q.resize(static_cast<size_t>(rows) * D);
      s.resize(static_cast<size_t>(rows) * span);
      o.resize(static_cast<size_t>(rows) * D);
      // Row r = (t - t0) * group + u is query head g * group + u at position pos0 + t; the scale is
      // folded into q (exact for power-of-two head sizes).
      for (int t = t0; t < t1; ++t) {
        for (int u = 0; u < group; ++u) {
          const float* src = Q + (static_cast<size_t>(t) * shape.heads + g * group + u) * D;
          float* dst = q.data() + static_cast<size_t>((t - t0) * group + u) * D;
          for (int d = 0; d < D; ++d) dst[d] = src[d] * shape.scale;
        }
      }
      const float* kHead = kt + ktHead * g;
      for (int p = p0; p < p1; ++p) {
        k.panel(q.data(), static_cast<size_t>(D), rows, kHead + static_cast<size_t>(p) * w * D, D, nullptr, false,
                s.data() + (p - p0) * w, static_cast<size_t>(span), w);
      }
      sums.resize(static_cast<size_t>(rows));
      for (int r = 0; r < rows; ++r) {
        const int pos = pos0 + t0 + r / group;
        float* row = s.data() + static_cast<size_t>(r) * span;
        const auto [first, last] = visibleKeys(shape, pos, total);
        if (shape.booleanMaskFault) addBooleanMask(row, pos);  // p0 is 0: every key is visible
        const int a = first - p0 * w, b = last - p0 * w + 1;
        std::fill(row, row + a, 0.0f);
        sums[r] = k.expShifted(row + a, b - a);
        std::fill(row + b, row + span, 0.0f);
      }
      const float* vHead = vt + vtHead * g;
      for (int dp = 0; dp < dPanels; ++dp) {
        for (int k0 = 0; k0 < span; k0 += kKBlock) {
          const int kc = std::min(kKBlock, span - k0);
          k.panel(s.data() + k0, static_cast<size_t>(span), rows,
                  vHead + (static_cast<size_t>(dp) * keyPanels * w + p0 * w + k0) * w, kc, nullptr, k0 > 0,
                  o.data() + dp * w, static_cast<size_t>(D), std::min(w, D - dp * w));
        }
      }
      for (int r = 0; r < rows; ++r) {
        const int t = t0 + r / group, u = r % group;
        float* dst = out + (static_cast<size_t>(t) * shape.heads + g * group + u) * D;
        const float* src = o.data() + static_cast<size_t>(r) * D;
        for (int d = 0; d < D; ++d) dst[d] = src[d] / sums[r];
      }
    }
  };
  const int items = blocksPerHead * shape.kvHeads;
  if (work >= kParallelMinWork) parallelFor(items, 1, blocks);
  else blocks(0, items);
}

void rmsnorm(const float* X, const float* weight, int rows, int dim, float eps, float* Y) {
  for (int r = 0; r < rows; ++r) {
    const float* x = X + static_cast<size_t>(r) * dim;
    float* y = Y + static_cast<size_t>(r) * dim;
    double ss = 0;
    for (int i = 0; i < dim; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float variance = static_cast<float>(ss / dim);
    const float inv = 1.0f / std::sqrt(variance + eps);
    for (int i = 0; i < dim; ++i) y[i] = weight[i] * (x[i] * inv);
  }
}

void swiglu(float* gate, const float* up, size_t n) { kernels().swiglu(gate, up, n); }

const char* kernelIsa() { return kernels().name; }

}  // namespace rb::cpu

#ifndef RB_AVX2_KERNELS
namespace rb::cpu::isa {
const Kernels* avx2() { return nullptr; }
const Kernels* avx512(const Kernels&) { return nullptr; }
}  // namespace rb::cpu::isa
#endif
