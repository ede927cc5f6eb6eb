// STREAM-style memory bandwidth: copy (c = a) and triad (a = b + s*c) over double arrays far
// larger than the last-level cache, one contiguous slice per thread.
#pragma once

#include <cstdint>

namespace rb::sysbench {

/** Threads the process may run on (its CPU affinity), at least 1. */
int availableThreads();

/** Last-level (L3) cache size in bytes, 0 when the system does not say. */
uint64_t l3CacheBytes();

/** Per-array default: 128 MiB, or a third of 4x the L3 when that is larger (STREAM's rule of thumb). */
uint64_t defaultArrayBytes();

struct MemoryBandwidthOptions {
  uint64_t arrayBytes = defaultArrayBytes();
  int threads = availableThreads();
  int repeats = 5;
};

struct KernelBandwidth {
  /** Bytes counted per element: reads + writes of 8-byte doubles (no write-allocate traffic). */
  int bytesPerElement = 0;
  double bestGBps = 0;
  double medianGBps = 0;
};

struct MemoryBandwidthResult {
  MemoryBandwidthOptions options;
  uint64_t l3Bytes = 0;
  KernelBandwidth copy;
  KernelBandwidth triad;
};

/** Throws std::invalid_argument for bad options and std::runtime_error when memory is short. */
MemoryBandwidthResult measureMemoryBandwidth(const MemoryBandwidthOptions& options);

}  // namespace rb::sysbench
