// The routed experts of sparse (mixture-of-experts) layers, read when the router picks them and
// kept in a bounded least-recently-used cache, so a decode step reads the experts its token uses
// rather than every expert of every layer. The capacity is split evenly over the sparse layers,
// each with its own LRU order: layers are visited in a cycle, and one LRU over all of them would
// evict every expert before its layer comes round again whenever a token's experts outgrow the
// cache, while per layer the experts a token shares with the previous ones stay.
//
// With prefetch, a background thread reads ahead a guess at the next sparse layer's experts (the
// ones it used for the previous token) while the current layer computes; the records say how
// often the guess was right and how long the compute thread still waited.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/backend.h"
#include "engine/buffer_pool.h"
#include "engine/layer_source.h"
#include "engine/trace.h"

namespace rb {

// What one sparse layer's experts cost in one step.
struct ExpertRecord {
  std::vector<int> used;  // the experts the step's tokens routed to, ascending
  int loaded = 0;         // read from disk for this step, by the compute thread or the prefetcher
  int prefetched = 0;     // of `loaded`, read ahead by the prefetch thread
  int cached = 0;         // already held (the cache, or the layer's own unit)
  int guessed = 0;        // experts the prefetcher guessed for this layer and step
  int guessedUsed = 0;    // of those, the ones the router picked
  uint64_t bytesRead = 0;
  int64_t loadNs = 0;          // reads on the compute thread
  int64_t prefetchLoadNs = 0;  // reads on the prefetch thread, of the experts used
  int64_t waitNs = 0;          // the compute thread waiting for the prefetch thread
  int64_t createNs = 0;
};

class ExpertCache : public ExpertSource {
 public:
  // `capacityBytes`: host bytes of experts kept between uses, split over `sparseLayers`; SIZE_MAX
  // keeps every expert read. `prefetch`: guess and read ahead; guesses are at most `topK` experts.
  ExpertCache(UnitLoader& loader, Backend& backend, size_t capacityBytes, int numLayers, std::vector<int> sparseLayers,
              int numExperts, int topK, bool prefetch);
  ~ExpertCache() override;
  ExpertCache(const ExpertCache&) = delete;
  ExpertCache& operator=(const ExpertCache&) = delete;

  // Before a sparse layer's forward: where its experts come from this time (the layer's own
  // weights when its unit holds them, else the cache) and the record their costs go to.
  void beginLayer(int layer, const UnitWeights* layerUnit, ExpertRecord* record);
  void require(int layer, const std::vector<int>& experts) override;
  // After the layer's forward: its experts beyond the layer's share of the capacity leave, least
  // recently used first (during the forward they are all in use, whatever the capacity).
  void endLayer();
  ExpertWeights expert(int e) const override;
  // Drops every expert and every read ahead (a streamed generation starts with none).
  void clear();
  // Where expert buffers come from (O_DIRECT needs aligned ones); null: pageable memory.
  void setHostAllocator(std::shared_ptr<HostAllocator> allocator) { allocator_ = std::move(allocator); }
  // Where the experts' spans go (read, wait and create, per expert).
  void setTrace(Trace* trace) { trace_ = trace; }

 private:
  struct Entry {
    int layer = -1;
    HostUnit host;
    std::unique_ptr<UnitWeights> weights;
    uint64_t lastUse = 0;
  };
  void evictBeyondCapacity(int layer);
  void drop(std::unordered_map<int, Entry>::iterator it);
  // The host bytes of expert unit `unit` (expert `expert` of the current layer): read ahead
  // (waited for), or read now.
  HostUnit fetch(int unit, int expert, ExpertRecord& rec);
  // Queues the guess for the sparse layer after `layer`; drops `layer`'s unused reads ahead.
  void guessNext(int layer);
  void prefetchLoop();
  void stopPrefetch();
  void recycle(HostUnit host);
  // A spare buffer that fits `unit` (call with mutex_ held).
  HostUnit spareFor(int unit);

  UnitLoader& loader_;
  Backend& backend_;
  const size_t layerCapacity_;
  const std::vector<int> sparseLayers_;
  const int numExperts_;
  const int topK_;
  const bool prefetch_;
  std::unordered_map<int, Entry> entries_;  // by expert unit; compute thread only
  std::vector<size_t> held_;                // bytes per layer
  std::vector<std::vector<int>> lastUsed_;  // per layer: the experts of its latest step
  std::vector<std::vector<int>> guess_;     // per layer: the experts read ahead for its next step
  uint64_t tick_ = 0;
  int layer_ = -1;
  const UnitWeights* layerUnit_ = nullptr;
  ExpertRecord* record_ = nullptr;
  Trace* trace_ = nullptr;
  // The layer's index among a step's units (the embedding is unit 0).
  static int stepUnit(int layer) { return layer + 1; }

  // Shared with the prefetch thread.
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<int> queue_;                       // units to read ahead
  std::unordered_set<int> pending_;             // queued or being read
  std::unordered_map<int, HostUnit> fetched_;   // read ahead, not yet taken
  std::unordered_map<int, std::exception_ptr> failed_;
  bool stopping_ = false;
  static size_t capacityOf(const HostUnit& u) { return u.bytes.capacity(); }
  FittingPool<HostUnit, size_t (*)(const HostUnit&)> spares_;
  std::shared_ptr<HostAllocator> allocator_;
  std::thread thread_;
};

}  // namespace rb
