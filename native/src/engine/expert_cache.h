// The routed experts of sparse (mixture-of-experts) layers, read when the router picks them and
// kept in a bounded least-recently-used cache, so a decode step reads the experts its token uses
// rather than every expert of every layer. The capacity is split evenly over the sparse layers,
// each with its own LRU order: layers are visited in a cycle, and one LRU over all of them would
// evict every expert before its layer comes round again whenever a token's experts outgrow the
// cache, while per layer the experts a token shares with the previous ones stay.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/backend.h"
#include "engine/buffer_pool.h"
#include "engine/layer_source.h"

namespace rb {

// What one sparse layer's experts cost in one step.
struct ExpertRecord {
  std::vector<int> used;  // the experts the step's tokens routed to, ascending
  int loaded = 0;         // read from disk for this step
  int cached = 0;         // already held (the cache, or the layer's own unit)
  uint64_t bytesRead = 0;
  int64_t loadNs = 0;     // reads, on the compute thread
  int64_t createNs = 0;
};

class ExpertCache : public ExpertSource {
 public:
  // `capacityBytes`: host bytes of experts kept between uses, over `sparseLayers` layers; SIZE_MAX
  // keeps every expert read.
  ExpertCache(UnitLoader& loader, Backend& backend, size_t capacityBytes, int numLayers, int sparseLayers);
  ~ExpertCache() override;
  ExpertCache(const ExpertCache&) = delete;
  ExpertCache& operator=(const ExpertCache&) = delete;

  // Before a sparse layer's forward: where its experts come from this time (the layer's own
  // weights when its unit holds them, else the cache) and the record their costs go to.
  void beginLayer(int layer, const UnitWeights* layerUnit, ExpertRecord* record);
  void require(int layer, const std::vector<int>& experts) override;
  ExpertWeights expert(int e) const override;
  // Drops every expert (a streamed generation starts with an empty cache).
  void clear();
  size_t bytesHeld() const;

 private:
  struct Entry {
    int layer = -1;
    HostUnit host;
    std::unique_ptr<UnitWeights> weights;
    uint64_t lastUse = 0;
  };
  void evictBeyondCapacity(int layer);
  void drop(std::unordered_map<int, Entry>::iterator it);

  UnitLoader& loader_;
  Backend& backend_;
  const size_t layerCapacity_;
  std::unordered_map<int, Entry> entries_;  // by expert unit
  std::vector<size_t> held_;                // bytes per layer
  uint64_t tick_ = 0;
  int layer_ = -1;
  const UnitWeights* layerUnit_ = nullptr;
  ExpertRecord* record_ = nullptr;
  static size_t capacityOf(const HostUnit& u) { return u.bytes.capacity(); }
  FittingPool<HostUnit, size_t (*)(const HostUnit&)> spares_;
};

}  // namespace rb
