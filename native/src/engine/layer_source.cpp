#include "engine/layer_source.h"

#include <algorithm>
#include <stdexcept>

#include "engine/timer.h"

namespace rb {
namespace {
constexpr size_t kAlign = 64;
}

UnitLoader::UnitLoader(const LoadPlan& plan, CheckpointReader& reader, bool dropAfterRead)
    : reader_(reader), dropAfterRead_(dropAfterRead) {
  for (const auto& layer : plan.layers) {
    std::vector<const TensorRef*> slots(kNumRoles, nullptr);
    for (int r = 0; r < kNumRoles; ++r) {
      if (layer.tensors[r]) slots[r] = &*layer.tensors[r];
    }
    units_.push_back(std::move(slots));
  }
  units_.push_back({&plan.lmHead});
  for (const auto& slots : units_) {
    size_t total = 0;
    for (const TensorRef* t : slots) total += t ? (t->bytes + kAlign - 1) / kAlign * kAlign : 0;
    bytes_.push_back(total);
  }
}

void UnitLoader::load(int unit, HostUnit& out) {
  const int64_t start = nowNs();
  const auto& slots = units_.at(unit);
  out.unit = unit;
  out.slices.assign(slots.size(), HostSlice{});
  size_t total = 0;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i]) continue;
    out.slices[i] = HostSlice{true, slots[i]->dtype, total, slots[i]->numel()};
    total += (slots[i]->bytes + kAlign - 1) / kAlign * kAlign;
  }
  out.bytes.resize(total);
  uint64_t read = 0;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i]) continue;
    reader_.read(slots[i]->file, slots[i]->offset, slots[i]->bytes, out.bytes.data() + out.slices[i].offset);
    read += slots[i]->bytes;
  }
  // After the whole unit, not per tensor: a page two tensors share is read once.
  if (dropAfterRead_) {
    for (const TensorRef* t : slots) {
      if (t) reader_.dropFromPageCache(t->file, t->offset, t->bytes);
    }
  }
  out.bytesRead = read;
  out.loadNs = nowNs() - start;
}

namespace {
size_t largestUnit(const UnitLoader& loader) {
  size_t most = 0;
  for (int u = 0; u < loader.numUnits(); ++u) most = std::max(most, loader.bytesFor(u));
  return most;
}

// Spares enough for every buffer the look-ahead can have in flight, so none is freed and
// reallocated (zero-filled again) every step.
size_t sparesFor(const UnitLoader& loader) {
  size_t least = largestUnit(loader);
  for (int u = 0; u < loader.numUnits(); ++u) least = std::min(least, std::max<size_t>(loader.bytesFor(u), 1));
  return std::min<size_t>(3 + largestUnit(loader) / std::max<size_t>(least, 1), 64);
}
}  // namespace

LayerSource::LayerSource(UnitLoader& loader, bool prefetch)
    : loader_(loader), prefetch_(prefetch), lookaheadBytes_(largestUnit(loader)), pool_(sparesFor(loader), &LayerSource::capacityOf) {}

LayerSource::~LayerSource() { stop(); }

void LayerSource::start(std::vector<int> order, bool cyclic) {
  stop();
  if (!prefetch_ || order.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
    exhausted_ = false;
    error_ = nullptr;
    for (HostUnit& unit : ready_) pool_.give(std::move(unit));
    ready_.clear();
    readyBytes_ = 0;
  }
  thread_ = std::thread(&LayerSource::prefetchLoop, this, std::move(order), cyclic);
}

void LayerSource::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

HostUnit LayerSource::freshBuffer(int unit) {
  std::lock_guard<std::mutex> lock(mutex_);
  HostUnit buffer = pool_.take(loader_.bytesFor(unit));
  if (allocator_ && !buffer.bytes.external()) buffer.bytes = HostBytes(allocator_);
  return buffer;
}

void LayerSource::prefetchLoop(std::vector<int> order, bool cyclic) {
  size_t i = 0;
  while (true) {
    if (i == order.size()) {
      if (!cyclic) {
        std::lock_guard<std::mutex> lock(mutex_);
        exhausted_ = true;
        cv_.notify_all();
        return;
      }
      i = 0;
    }
    const int unit = order[i++];
    const size_t bytes = loader_.bytesFor(unit);
    {
      // Read ahead while what waits ready, this unit included, fits the look-ahead.
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || ready_.empty() || readyBytes_ + bytes <= lookaheadBytes_; });
      if (stopping_) return;
    }
    HostUnit buffer = freshBuffer(unit);
    try {
      loader_.load(unit, buffer);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      cv_.notify_all();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      readyBytes_ += bytes;
      ready_.push_back(std::move(buffer));
    }
    cv_.notify_all();
  }
}

HostUnit LayerSource::take(int unit, int64_t& waitNs) {
  waitNs = 0;
  if (!prefetch_ || !thread_.joinable()) {
    HostUnit buffer = freshBuffer(unit);
    loader_.load(unit, buffer);
    return buffer;
  }
  const int64_t start = nowNs();
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return !ready_.empty() || error_ != nullptr || exhausted_; });
  waitNs = nowNs() - start;
  if (ready_.empty() && error_) std::rethrow_exception(error_);
  if (ready_.empty()) {
    lock.unlock();
    waitNs = 0;
    HostUnit buffer = freshBuffer(unit);
    loader_.load(unit, buffer);
    return buffer;
  }
  HostUnit out = std::move(ready_.front());
  ready_.pop_front();
  readyBytes_ -= loader_.bytesFor(out.unit);
  lock.unlock();
  cv_.notify_all();
  if (out.unit != unit) {
    throw std::logic_error("prefetch order mismatch: expected unit " + std::to_string(unit) + ", got " +
                           std::to_string(out.unit));
  }
  return out;
}

void LayerSource::giveBack(HostUnit unit) {
  std::lock_guard<std::mutex> lock(mutex_);
  pool_.give(std::move(unit));
}

}  // namespace rb
