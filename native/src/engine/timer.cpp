#include "engine/timer.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace rb {

double clockReadCostNs() {
  // Median over batches of back-to-back steady_clock reads: what one timer reading costs.
  constexpr int kBatch = 10000;
  std::vector<double> perRead;
  volatile int64_t sink = 0;
  for (int b = 0; b < 50; ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kBatch; ++i) sink = sink + std::chrono::steady_clock::now().time_since_epoch().count();
    const auto t1 = std::chrono::steady_clock::now();
    perRead.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / kBatch);
  }
  std::nth_element(perRead.begin(), perRead.begin() + perRead.size() / 2, perRead.end());
  return perRead[perRead.size() / 2];
}

}  // namespace rb
