// Recycled buffers. Streaming alternates small decoder layers with a much larger lm_head. If one
// buffer served both, it would shrink for a layer and grow back for the head, and vector::resize
// would zero-fill ~100 MB every step: fake create/load time. So a spare is reused only when it
// fits (at most kSlack times the size needed); otherwise the caller gets a fresh buffer, and
// each size class keeps its own.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace rb {

template <typename T, typename CapacityOf>
class FittingPool {
 public:
  static constexpr size_t kSlack = 4;

  FittingPool(size_t keep, CapacityOf capacityOf) : keep_(keep), capacityOf_(capacityOf) {}

  // The smallest spare with needed <= capacity <= kSlack * needed, else a fresh (empty) T.
  T take(size_t needed) {
    size_t best = spares_.size();
    for (size_t i = 0; i < spares_.size(); ++i) {
      const size_t c = capacityOf_(spares_[i]);
      const bool fits = c >= needed && c <= kSlack * needed;
      if (fits && (best == spares_.size() || c < capacityOf_(spares_[best]))) best = i;
    }
    if (best == spares_.size()) return T{};
    T out = std::move(spares_[best]);
    spares_.erase(spares_.begin() + static_cast<std::ptrdiff_t>(best));
    return out;
  }

  void give(T item) {
    if (spares_.size() < keep_) spares_.push_back(std::move(item));
  }

 private:
  size_t keep_;
  CapacityOf capacityOf_;
  std::vector<T> spares_;
};

}  // namespace rb
