#include "engine/expert_cache.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "engine/timer.h"

namespace rb {

ExpertCache::ExpertCache(UnitLoader& loader, Backend& backend, size_t capacityBytes, int numLayers, std::vector<int> sparseLayers,
                         int numExperts, int topK, bool prefetch)
    : loader_(loader),
      backend_(backend),
      layerCapacity_(capacityBytes == SIZE_MAX ? SIZE_MAX : capacityBytes / std::max<size_t>(sparseLayers.size(), 1)),
      sparseLayers_(std::move(sparseLayers)),
      numExperts_(numExperts),
      topK_(topK),
      prefetch_(prefetch),
      held_(static_cast<size_t>(numLayers), 0),
      lastUsed_(static_cast<size_t>(numLayers)),
      guess_(static_cast<size_t>(numLayers)),
      spares_(16, &ExpertCache::capacityOf) {}

ExpertCache::~ExpertCache() { clear(); }

void ExpertCache::beginLayer(int layer, const UnitWeights* layerUnit, ExpertRecord* record) {
  layer_ = layer;
  layerUnit_ = layerUnit;
  record_ = record;
}

void ExpertCache::require(int layer, const std::vector<int>& experts) {
  if (layer != layer_ || !record_) throw std::logic_error("expert cache: require outside the layer's forward");
  ExpertRecord& rec = *record_;
  rec.used = experts;
  if (layerUnit_) {
    rec.cached = static_cast<int>(experts.size());
    return;
  }
  rec.guessed = static_cast<int>(guess_[layer].size());
  for (int e : guess_[layer]) rec.guessedUsed += std::binary_search(experts.begin(), experts.end(), e) ? 1 : 0;
  ++tick_;
  for (int e : experts) {
    const int unit = loader_.expertUnit(layer, e);
    if (unit < 0) throw std::logic_error("expert cache: layer " + std::to_string(layer) + " has no expert units");
    auto it = entries_.find(unit);
    if (it != entries_.end()) {
      it->second.lastUse = tick_;
      ++rec.cached;
      continue;
    }
    Entry entry;
    entry.layer = layer;
    entry.host = fetch(unit, e, rec);
    const int64_t c0 = nowNs();
    entry.weights = backend_.createUnit(entry.host);
    const int64_t createNs = nowNs() - c0;
    rec.createNs += createNs;
    if (trace_) trace_->add(TracePhase::Create, TraceLane::Compute, c0, createNs, stepUnit(layer), e);
    rec.bytesRead += entry.host.bytesRead;
    ++rec.loaded;
    entry.lastUse = tick_;
    held_[layer] += loader_.bytesFor(unit);
    entries_.emplace(unit, std::move(entry));
  }
  lastUsed_[layer] = experts;
  guessNext(layer);
}

void ExpertCache::endLayer() {
  if (layer_ >= 0 && !layerUnit_) evictBeyondCapacity(layer_);
  beginLayer(-1, nullptr, nullptr);
}

HostUnit ExpertCache::fetch(int unit, int expert, ExpertRecord& rec) {
  const int at = stepUnit(layer_);
  std::unique_lock<std::mutex> lock(mutex_);
  if (pending_.count(unit) || fetched_.count(unit) || failed_.count(unit)) {
    const int64_t w0 = nowNs();
    cv_.wait(lock, [&] { return fetched_.count(unit) || failed_.count(unit); });
    const int64_t waitNs = nowNs() - w0;
    rec.waitNs += waitNs;
    if (trace_) trace_->add(TracePhase::CpuWait, TraceLane::Compute, w0, waitNs, at, expert);
    if (auto f = failed_.find(unit); f != failed_.end()) {
      std::exception_ptr error = f->second;
      failed_.erase(f);
      std::rethrow_exception(error);
    }
    HostUnit host = std::move(fetched_.at(unit));
    fetched_.erase(unit);
    ++rec.prefetched;
    rec.prefetchLoadNs += host.loadNs;
    if (trace_) trace_->add(TracePhase::Load, TraceLane::ExpertPrefetch, host.loadStartNs, host.loadNs, at, expert, host.bytesRead);
    return host;
  }
  HostUnit host = spareFor(unit);
  lock.unlock();
  loader_.load(unit, host);
  rec.loadNs += host.loadNs;
  if (trace_) trace_->add(TracePhase::Load, TraceLane::Compute, host.loadStartNs, host.loadNs, at, expert, host.bytesRead);
  return host;
}

void ExpertCache::guessNext(int layer) {
  const auto at = std::find(sparseLayers_.begin(), sparseLayers_.end(), layer);
  const int first = loader_.expertUnit(layer, 0);
  const auto inLayer = [&](int unit) { return unit >= first && unit < first + numExperts_; };
  std::vector<HostUnit> unused;
  std::unique_lock<std::mutex> lock(mutex_);
  // This layer's guess is spent: what it read ahead and the router did not pick is dropped, and
  // what it queued is not read. A read under way lands in fetched_, to be used or dropped next time.
  for (auto it = fetched_.begin(); it != fetched_.end();) {
    if (inLayer(it->first)) {
      const HostUnit& read = it->second;
      if (trace_) trace_->add(TracePhase::Load, TraceLane::ExpertPrefetch, read.loadStartNs, read.loadNs, stepUnit(layer), it->first - first, read.bytesRead, false);
      unused.push_back(std::move(it->second));
      it = fetched_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (inLayer(*it)) {
      pending_.erase(*it);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  bool queued = false;
  if (prefetch_ && at != sparseLayers_.end()) {
    const int next = std::next(at) == sparseLayers_.end() ? sparseLayers_.front() : *std::next(at);
    // A prefill's experts are the union over its tokens, not a guess for one token.
    guess_[next].clear();
    if (static_cast<int>(lastUsed_[next].size()) <= topK_) guess_[next] = lastUsed_[next];
    for (int e : guess_[next]) {
      const int unit = loader_.expertUnit(next, e);
      if (entries_.count(unit) || pending_.count(unit) || fetched_.count(unit)) continue;
      queue_.push_back(unit);
      pending_.insert(unit);
      queued = true;
    }
    if (queued && !thread_.joinable()) {
      stopping_ = false;
      thread_ = std::thread(&ExpertCache::prefetchLoop, this);
    }
  }
  lock.unlock();
  if (queued) cv_.notify_all();
  for (HostUnit& host : unused) recycle(std::move(host));
}

void ExpertCache::prefetchLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const int unit = queue_.front();
    queue_.pop_front();
    HostUnit host = spareFor(unit);
    lock.unlock();
    std::exception_ptr error;
    try {
      loader_.load(unit, host);
      host.loadedInBackground = true;
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    pending_.erase(unit);
    if (error) failed_[unit] = error;
    else fetched_[unit] = std::move(host);
    cv_.notify_all();
  }
}

void ExpertCache::evictBeyondCapacity(int layer) {
  // A layer's experts are consecutive units: look up those, not every layer's entries.
  const int first = loader_.expertUnit(layer, 0);
  while (held_[layer] > layerCapacity_) {
    auto oldest = entries_.end();
    for (int unit = first; unit < first + numExperts_; ++unit) {
      const auto it = entries_.find(unit);
      if (it != entries_.end() && (oldest == entries_.end() || it->second.lastUse < oldest->second.lastUse)) oldest = it;
    }
    if (oldest == entries_.end()) return;
    drop(oldest);
  }
}

void ExpertCache::drop(std::unordered_map<int, Entry>::iterator it) {
  held_[it->second.layer] -= loader_.bytesFor(it->first);
  backend_.releaseUnit(std::move(it->second.weights));
  recycle(std::move(it->second.host));
  entries_.erase(it);
}

HostUnit ExpertCache::spareFor(int unit) {
  HostUnit host = spares_.take(loader_.bytesFor(unit));
  if (allocator_ && !host.bytes.external()) host.bytes = HostBytes(allocator_);
  return host;
}

void ExpertCache::recycle(HostUnit host) {
  loader_.release(host);
  std::lock_guard<std::mutex> lock(mutex_);
  spares_.give(std::move(host));
}

ExpertWeights ExpertCache::expert(int e) const {
  if (layerUnit_) return ExpertWeights{layerUnit_, kNumRoles + kNumExpertRoles * e};
  auto it = entries_.find(loader_.expertUnit(layer_, e));
  if (it == entries_.end()) throw std::logic_error("expert cache: expert " + std::to_string(e) + " was not required");
  return ExpertWeights{it->second.weights.get(), 0};
}

void ExpertCache::stopPrefetch() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<HostUnit> unused;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& kv : fetched_) unused.push_back(std::move(kv.second));
    fetched_.clear();
    queue_.clear();
    pending_.clear();
    failed_.clear();
  }
  for (HostUnit& host : unused) recycle(std::move(host));
}

void ExpertCache::clear() {
  stopPrefetch();
  while (!entries_.empty()) drop(entries_.begin());
  for (auto& used : lastUsed_) used.clear();
  for (auto& guess : guess_) guess.clear();
  layer_ = -1;
  layerUnit_ = nullptr;
  record_ = nullptr;
}

}  // namespace rb
