// Streams units (decoder layers, then the lm_head) from disk into host buffers: synchronously,
// or from a prefetch thread that reads unit u+1 while the compute thread works on unit u.
// The prefetcher reads ahead while the units waiting ready stay within the size of the largest
// unit (always at least one), so host memory stays at about two of the largest unit whatever
// the model size; yet a large unit (the lm_head is often several layers' worth of bytes) loads
// while several small ones compute, instead of stalling the unit before it, and the small ones
// load while it computes.
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "engine/backend.h"
#include "engine/buffer_pool.h"
#include "engine/checkpoint_reader.h"

namespace rb {

// How a unit's bytes come off the disk. pread: copied through the page cache into a host buffer.
// mmap: the files are mapped and a unit is read in place; its load faults its pages in (from
// the page cache when there, else the disk) and its release unmaps them again, so the resident
// set stays at about the look-ahead. direct: O_DIRECT reads of whole aligned spans into aligned
// host buffers, around the page cache, so every load reads the device (for models larger than
// RAM, where the page cache only thrashes).
enum class IoMode { Pread, Mmap, Direct };
IoMode parseIoMode(const std::string& name);
const char* ioModeName(IoMode mode);

// Units 0..L-1 are the decoder layers, L the lm_head: the units a step takes in order. With
// `expertUnits`, each routed expert of a sparse layer is a unit of its own after those (read when
// the router picks it), and a layer unit holds the rest of its layer; without, a layer unit holds
// its experts too (slots kNumRoles + 3e + ExpertRole).
class UnitLoader {
 public:
  // `dropAfterRead`: each unit's pages leave the page cache once it is read (see EngineOptions).
  UnitLoader(const LoadPlan& plan, CheckpointReader& reader, bool dropAfterRead, IoMode io, bool expertUnits);
  // The layer units and the lm_head (expert units are not counted).
  int numUnits() const { return numUnits_; }
  int headUnit() const { return numUnits() - 1; }
  // The unit of expert `e` of sparse layer `layer` (with expertUnits), else -1.
  int expertUnit(int layer, int e) const { return expertBase_[layer] < 0 ? -1 : expertBase_[layer] + e; }
  // Reads every tensor of `unit` into `out`, reusing out.bytes' capacity (mmap: maps them).
  void load(int unit, HostUnit& out);
  // Once `unit`'s weights are no longer read: mmap unmaps its pages (and with dropAfterRead
  // drops them from the page cache, which it cannot do while they are mapped).
  void release(const HostUnit& unit);
  // Once no unit is in use (the end of a streamed generation): mmap unmaps every page.
  void releaseAll();
  // Host bytes `unit` needs (tensors padded for alignment; direct: whole aligned spans).
  size_t bytesFor(int unit) const { return bytes_.at(unit); }

 private:
  // A page-aligned file range read by one O_DIRECT call: tensors of one unit that lie close
  // together, and what lies between them.
  struct Span {
    const std::string* file;
    uint64_t offset, bytes, needed;
    size_t at;  // into the host buffer
  };
  void loadPread(const std::vector<const TensorRef*>& slots, HostUnit& out);
  void loadMapped(const std::vector<const TensorRef*>& slots, HostUnit& out);
  void loadDirect(int unit, HostUnit& out);
  int numUnits_ = 0;
  std::vector<int> expertBase_;  // per layer: its first expert unit, or -1
  std::vector<size_t> bytes_;
  std::vector<std::vector<const TensorRef*>> units_;  // per unit: slot -> tensor (or null)
  std::vector<std::vector<size_t>> offsets_;           // pread, direct: per unit, slot -> host buffer offset
  std::vector<std::vector<Span>> spans_;               // direct: per unit
  CheckpointReader& reader_;
  const bool dropAfterRead_;
  const IoMode io_;
};

class LayerSource {
 public:
  LayerSource(UnitLoader& loader, bool prefetch);
  ~LayerSource();
  LayerSource(const LayerSource&) = delete;
  LayerSource& operator=(const LayerSource&) = delete;

  // Units will be taken in `order`, repeated forever when `cyclic` (streaming) or once.
  void start(std::vector<int> order, bool cyclic);
  void stop();
  // Blocks until `unit` is loaded. `waitNs` is the time blocked on the prefetch thread, from
  // `waitStartNs`.
  HostUnit take(int unit, int64_t& waitNs, int64_t& waitStartNs);
  // Returns a buffer for reuse once its bytes have been turned into compute weights.
  void giveBack(HostUnit unit);
  // Where new unit buffers come from (e.g. a CUDA backend's pinned memory); null: pageable
  // memory. Set before start().
  void setHostAllocator(std::shared_ptr<HostAllocator> allocator) { allocator_ = std::move(allocator); }

 private:
  void prefetchLoop(std::vector<int> order, bool cyclic);
  HostUnit freshBuffer(int unit);

  UnitLoader& loader_;
  const bool prefetch_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<HostUnit> ready_;
  size_t readyBytes_ = 0;
  size_t lookaheadBytes_ = 0;
  std::exception_ptr error_;
  bool stopping_ = false;
  bool exhausted_ = false;  // a one-pass order has been fully read
  bool cyclic_ = false;     // streaming: every unit is released after its forward
  static size_t capacityOf(const HostUnit& u) { return u.bytes.capacity(); }
  FittingPool<HostUnit, size_t (*)(const HostUnit&)> pool_;
  std::shared_ptr<HostAllocator> allocator_;
  std::thread thread_;
};

}  // namespace rb
