// Monotonic nanosecond stopwatch. With RB_TIMERS=0 every reading is 0 and costs nothing, which
// is how the profiling overhead is measured.
#pragma once

#include <chrono>
#include <cstdint>

namespace rb {

inline int64_t nowNs() {
#if RB_TIMERS
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
#else
  return 0;
#endif
}

// Measured cost of one steady_clock reading (ns), to bound the instrumentation's overhead.
double clockReadCostNs();

}  // namespace rb
