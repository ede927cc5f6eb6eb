// Non-finite values (NaN, Inf) from broken weights do not fail loudly by themselves: SIMD max and
// clamp instructions turn them into finite, wrong numbers, differently on each kernel. The engine
// looks for them once per activation and step instead, and stops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace rb {

// Whether all `n` floats are finite. Reads only the exponent bits (all ones: NaN or Inf), as an
// integer reduction the compiler vectorises (about 10 floats per ns on one core); one pass costs
// a small fraction of the product that made the values.
inline bool allFinite(const float* p, size_t n) {
  uint32_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, p + i, sizeof bits);
    // An all-ones exponent plus one carries into bit 31; any other exponent does not. And, add
    // and or: plain SSE2, so the baseline build vectorises it.
    bad |= (bits & 0x7f800000u) + 0x00800000u;
  }
  return (bad & 0x80000000u) == 0;
}

// A step produced NaN or Inf; the message names the unit and activation where they first appeared.
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace rb
