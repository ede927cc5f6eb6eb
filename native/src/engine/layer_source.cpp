#include "engine/layer_source.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "engine/timer.h"

namespace rb {
namespace {
constexpr size_t kAlign = 64;

HostSlice sliceOf(const TensorRef& t, size_t offset, const uint8_t* mapped) {
  HostSlice s{true, t.dtype, offset, t.numel()};
  if (t.shape.size() == 2) {
    s.rows = t.shape[0];
    s.cols = t.shape[1];
  }
  s.mapped = mapped;
  return s;
}
constexpr uint64_t kPage = 4096;
// Tensors of a unit closer than this are read by one O_DIRECT call, gap included.
constexpr uint64_t kMaxSpanGap = 1 << 20;

uint64_t alignDown(uint64_t v, uint64_t a) { return v / a * a; }
uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// The whole pages holding `bytes` bytes at `p`, inside a mapping (which starts on a page).
std::pair<uint8_t*, size_t> pagesOf(const uint8_t* p, uint64_t bytes) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = alignDown(at, kPage);
  return {reinterpret_cast<uint8_t*>(first), alignUp(at + bytes, kPage) - first};
}
}  // namespace

IoMode parseIoMode(const std::string& name) {
  if (name == "pread") return IoMode::Pread;
  if (name == "mmap") return IoMode::Mmap;
  if (name == "direct") return IoMode::Direct;
  throw std::invalid_argument("io must be pread, mmap or direct, not '" + name + "'");
}

const char* ioModeName(IoMode mode) {
  switch (mode) {
    case IoMode::Mmap: return "mmap";
    case IoMode::Direct: return "direct";
    default: return "pread";
  }
}

UnitLoader::UnitLoader(const LoadPlan& plan, CheckpointReader& reader, bool dropAfterRead, IoMode io, bool expertUnits)
    : reader_(reader), dropAfterRead_(dropAfterRead), io_(io) {
  for (const auto& layer : plan.layers) {
    std::vector<const TensorRef*> slots(kNumRoles, nullptr);
    for (int r = 0; r < kNumRoles; ++r) {
      if (layer.tensors[r]) slots[r] = &*layer.tensors[r];
    }
    if (!expertUnits) {
      for (const auto& expert : layer.experts) {
        for (const TensorRef& t : expert) slots.push_back(&t);
      }
    }
    units_.push_back(std::move(slots));
  }
  units_.push_back({&plan.lmHead});
  numUnits_ = static_cast<int>(units_.size());
  for (const auto& layer : plan.layers) {
    const bool own = expertUnits && !layer.experts.empty();
    expertBase_.push_back(own ? static_cast<int>(units_.size()) : -1);
    if (!own) continue;
    for (const auto& expert : layer.experts) units_.push_back({&expert[kExpertGate], &expert[kExpertUp], &expert[kExpertDown]});
  }
  // Where each tensor lies in a unit's host buffer, worked out once: pread packs the tensors in
  // slot order, direct places them where they lie in their span.
  for (const auto& slots : units_) {
    std::vector<size_t> at(slots.size(), 0);
    std::vector<Span> spans;
    size_t total = 0;
    if (io_ == IoMode::Direct) {
      std::vector<size_t> byOffset;
      for (size_t i = 0; i < slots.size(); ++i) {
        if (slots[i]) byOffset.push_back(i);
      }
      std::sort(byOffset.begin(), byOffset.end(), [&](size_t a, size_t b) {
        const TensorRef &x = *slots[a], &y = *slots[b];
        return x.file != y.file ? x.file < y.file : x.offset < y.offset;
      });
      uint64_t end = 0;  // of the tensors in the current span
      for (size_t i : byOffset) {
        const TensorRef* t = slots[i];
        if (spans.empty() || *spans.back().file != t->file || t->offset > end + kMaxSpanGap) {
          if (!spans.empty()) total += spans.back().bytes;
          spans.push_back(Span{&t->file, alignDown(t->offset, CheckpointReader::kDirectAlign), 0, 0, total});
          end = 0;
        }
        end = std::max(end, t->offset + t->bytes);
        Span& span = spans.back();
        span.needed = end - span.offset;
        span.bytes = alignUp(span.needed, CheckpointReader::kDirectAlign);
        at[i] = span.at + (t->offset - span.offset);
      }
      if (!spans.empty()) total += spans.back().bytes;
    } else {
      for (size_t i = 0; i < slots.size(); ++i) {
        if (!slots[i]) continue;
        at[i] = total;
        total += alignUp(slots[i]->bytes, kAlign);
      }
    }
    offsets_.push_back(std::move(at));
    spans_.push_back(std::move(spans));
    bytes_.push_back(total);
  }
}

void UnitLoader::load(int unit, HostUnit& out) {
  const int64_t start = nowNs();
  const auto& slots = units_.at(unit);
  out.unit = unit;
  out.slices.assign(slots.size(), HostSlice{});
  out.bytesRead = 0;
  out.loadedInBackground = false;
  if (io_ == IoMode::Mmap) {
    loadMapped(slots, out);
  } else {
    for (size_t i = 0; i < slots.size(); ++i) {
      if (slots[i]) out.slices[i] = sliceOf(*slots[i], offsets_[unit][i], nullptr);
    }
    out.bytes.resize(bytes_.at(unit));
    if (io_ == IoMode::Direct) loadDirect(unit, out);
    else loadPread(slots, out);
  }
  out.loadStartNs = start;
  out.loadNs = nowNs() - start;
}

void UnitLoader::loadPread(const std::vector<const TensorRef*>& slots, HostUnit& out) {
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i]) continue;
    reader_.read(slots[i]->file, slots[i]->offset, slots[i]->bytes, out.bytes.data() + out.slices[i].offset);
    out.bytesRead += slots[i]->bytes;
  }
  // After the whole unit, not per tensor: a page two tensors share is read once.
  if (dropAfterRead_) {
    for (const TensorRef* t : slots) {
      if (t) reader_.dropFromPageCache(t->file, t->offset, t->bytes);
    }
  }
}

void UnitLoader::loadMapped(const std::vector<const TensorRef*>& slots, HostUnit& out) {
  for (size_t i = 0; i < slots.size(); ++i) {
    const TensorRef* t = slots[i];
    if (!t) continue;
    const uint8_t* base = reader_.map(t->file, t->offset, t->bytes);
    out.slices[i] = sliceOf(*t, 0, base + t->offset);
    // Fault the pages in here, on the loader's thread, so the forward pass finds them mapped:
    // WILLNEED starts the disk reads of what the page cache lacks, POPULATE_READ maps the pages
    // (Linux 5.14+; older kernels touch every page).
    const auto [pages, length] = pagesOf(base + t->offset, t->bytes);
    ::madvise(pages, length, MADV_WILLNEED);
    if (::madvise(pages, length, MADV_POPULATE_READ) != 0) {
      for (size_t at = 0; at < length; at += kPage) (void)*static_cast<const volatile uint8_t*>(pages + at);
    }
    out.bytesRead += t->bytes;
  }
}

void UnitLoader::loadDirect(int unit, HostUnit& out) {
  if (reinterpret_cast<uintptr_t>(out.bytes.data()) % CheckpointReader::kDirectAlign != 0) {
    throw std::logic_error("--io direct needs aligned host buffers");
  }
  for (const Span& span : spans_.at(unit)) {
    out.bytesRead += reader_.readDirect(*span.file, span.offset, span.bytes, span.needed, out.bytes.data() + span.at);
  }
}

void UnitLoader::releaseAll() {
  if (io_ == IoMode::Mmap) reader_.unmapAllPages();
}

void UnitLoader::release(const HostUnit& unit) {
  if (io_ != IoMode::Mmap || unit.unit < 0) return;
  const auto& slots = units_.at(unit.unit);
  for (size_t i = 0; i < slots.size(); ++i) {
    const TensorRef* t = slots[i];
    if (!t || !unit.slices[i].mapped) continue;
    const auto [pages, length] = pagesOf(unit.slices[i].mapped, t->bytes);
    ::madvise(pages, length, MADV_DONTNEED);
    if (dropAfterRead_) reader_.dropFromPageCache(t->file, t->offset, t->bytes);
  }
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
  cyclic_ = cyclic;
  if (!prefetch_ || order.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
    exhausted_ = false;
    error_ = nullptr;
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
  // Units read ahead but never taken: released (unmapped) so nothing of them stays resident.
  std::lock_guard<std::mutex> lock(mutex_);
  for (HostUnit& unit : ready_) {
    loader_.release(unit);
    pool_.give(std::move(unit));
  }
  ready_.clear();
  readyBytes_ = 0;
  // A resident unit reads its pages in place for the engine's life.
  if (cyclic_) loader_.releaseAll();
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
    buffer.loadedInBackground = true;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      readyBytes_ += bytes;
      ready_.push_back(std::move(buffer));
    }
    cv_.notify_all();
  }
}

HostUnit LayerSource::take(int unit, int64_t& waitNs, int64_t& waitStartNs) {
  waitNs = 0;
  if (!prefetch_ || !thread_.joinable()) {
    HostUnit buffer = freshBuffer(unit);
    loader_.load(unit, buffer);
    return buffer;
  }
  const int64_t start = nowNs();
  waitStartNs = start;
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
  loader_.release(unit);
  std::lock_guard<std::mutex> lock(mutex_);
  pool_.give(std::move(unit));
}

}  // namespace rb
