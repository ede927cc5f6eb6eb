#include "engine/expert_cache.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "engine/timer.h"

namespace rb {

ExpertCache::ExpertCache(UnitLoader& loader, Backend& backend, size_t capacityBytes, int numLayers, int sparseLayers)
    : loader_(loader),
      backend_(backend),
      layerCapacity_(capacityBytes == SIZE_MAX ? SIZE_MAX : capacityBytes / static_cast<size_t>(std::max(sparseLayers, 1))),
      held_(static_cast<size_t>(numLayers), 0),
      spares_(8, &ExpertCache::capacityOf) {}

size_t ExpertCache::bytesHeld() const {
  size_t total = 0;
  for (size_t b : held_) total += b;
  return total;
}

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
    entry.host = spares_.take(loader_.bytesFor(unit));
    const int64_t t0 = nowNs();
    loader_.load(unit, entry.host);
    const int64_t t1 = nowNs();
    entry.weights = backend_.createUnit(entry.host);
    rec.createNs += nowNs() - t1;
    rec.loadNs += t1 - t0;
    rec.bytesRead += entry.host.bytesRead;
    ++rec.loaded;
    entry.lastUse = tick_;
    held_[layer] += loader_.bytesFor(unit);
    entries_.emplace(unit, std::move(entry));
  }
  evictBeyondCapacity(layer);
}

// The experts of the layer being computed stay, even past the capacity: they are in use.
void ExpertCache::evictBeyondCapacity(int layer) {
  while (held_[layer] > layerCapacity_) {
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      const Entry& e = it->second;
      if (e.layer == layer && e.lastUse < tick_ && (oldest == entries_.end() || e.lastUse < oldest->second.lastUse)) oldest = it;
    }
    if (oldest == entries_.end()) return;
    drop(oldest);
  }
}

void ExpertCache::drop(std::unordered_map<int, Entry>::iterator it) {
  held_[it->second.layer] -= loader_.bytesFor(it->first);
  backend_.releaseUnit(std::move(it->second.weights));
  loader_.release(it->second.host);
  spares_.give(std::move(it->second.host));
  entries_.erase(it);
}

ExpertWeights ExpertCache::expert(int e) const {
  if (layerUnit_) return ExpertWeights{layerUnit_, kNumRoles + kNumExpertRoles * e};
  auto it = entries_.find(loader_.expertUnit(layer_, e));
  if (it == entries_.end()) throw std::logic_error("expert cache: expert " + std::to_string(e) + " was not required");
  return ExpertWeights{it->second.weights.get(), 0};
}

void ExpertCache::clear() {
  while (!entries_.empty()) drop(entries_.begin());
  layer_ = -1;
  layerUnit_ = nullptr;
  record_ = nullptr;
}

}  // namespace rb
