// libFuzzer target for what the engine does with a checkpoint's bytes: read them back from a
// file (CheckpointReader), dequantize them as each dtype the engine takes (convertToF32), and
// quantize the values back (quantizeRows, which `rabbit-bench quantize` runs on any weights,
// NaN and Inf included). Built with AddressSanitizer and UBSan by scripts/fuzz-native.sh; any
// crash, out-of-bounds access or undefined behaviour (a NaN cast to an integer, say) is a finding.
//
// Input: byte 0 picks the dtype, byte 1 how many bytes to read past the end of the file (a
// truncated checkpoint must be an exception), the rest is the tensor's data.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/checkpoint_reader.h"
#include "engine/dtype.h"
#include "engine/model.h"
#include "quant/quantize.h"

namespace {

constexpr rb::DType kTypes[] = {rb::DType::F32,  rb::DType::F16,  rb::DType::BF16, rb::DType::Q8_0, rb::DType::Q4_0,
                                rb::DType::Q4_1, rb::DType::Q5_0, rb::DType::Q5_1, rb::DType::Q2_K, rb::DType::Q3_K,
                                rb::DType::Q4_K, rb::DType::Q5_K, rb::DType::Q6_K};

// One scratch file per process, rewritten for every input.
const std::string& scratchFile() {
  static const std::string path = [] {
    char name[] = "/tmp/rb-checkpoint-fuzz-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) std::abort();
    close(fd);
    return std::string(name);
  }();
  return path;
}

void fail(const char* what) {
  std::fprintf(stderr, "checkpoint_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const rb::DType dtype = kTypes[data[0] % (sizeof kTypes / sizeof kTypes[0])];
  const size_t overrun = data[1];
  const uint8_t* payload = data + 2;
  const size_t payloadBytes = size - 2;
  const size_t blocks = payloadBytes / rb::blockBytes(dtype);
  if (blocks == 0) return 0;
  const int64_t count = static_cast<int64_t>(blocks) * rb::blockElems(dtype);
  const uint64_t bytes = rb::storageBytes(dtype, count);

  const std::string& file = scratchFile();
  FILE* f = std::fopen(file.c_str(), "wb");
  if (!f || std::fwrite(payload, 1, payloadBytes, f) != payloadBytes || std::fclose(f) != 0) fail("cannot write the scratch file");

  std::vector<uint8_t> raw(bytes + overrun);
  {
    rb::CheckpointReader reader;
    reader.read(file, 0, bytes, raw.data());
    if (overrun > 0 && bytes + overrun > payloadBytes) {
      bool threw = false;
      try {
        reader.read(file, payloadBytes - 1, overrun + 1, raw.data());
      } catch (const std::runtime_error&) {
        threw = true;
      }
      if (!threw) fail("a read past the end of the file did not throw");
    }
  }

  std::vector<float> values(static_cast<size_t>(count));
  rb::convertToF32(dtype, raw.data(), values.data(), values.size());

  // Quantizing back: any values, finite or not, without undefined behaviour; finite values of a
  // block format must come back finite.
  bool allFinite = true, inHalfRange = true;
  for (float v : values) allFinite = allFinite && std::isfinite(v), inHalfRange = inHalfRange && std::fabs(v) <= 65504.0f;
  std::vector<uint8_t> again(bytes);
  try {
    rb::quant::quantizeRows(dtype, values.data(), 1, count, again.data());
  } catch (const std::invalid_argument&) {
    if (allFinite || !rb::isQuantized(dtype)) fail("quantizeRows refused finite values");
    return 0;  // NaN or Inf for a block format: refused, as it must be
  }
  if (!allFinite && rb::isQuantized(dtype)) fail("quantizeRows took NaN or Inf for a block format");
  std::vector<float> back(values.size());
  rb::convertToF32(dtype, again.data(), back.data(), back.size());
  // Block scales are f16: values past its range may overflow them (as in llama.cpp); within it,
  // what comes back is finite. (f16 and bf16 round large f32 values to Inf, as the formats must.)
  if (inHalfRange && rb::isQuantized(dtype)) {
    for (float v : back) {
      if (!std::isfinite(v)) fail("finite values quantized and dequantized came back non-finite");
    }
  }
  return 0;
}
