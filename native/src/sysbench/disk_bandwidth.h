// Sequential read bandwidth of the storage under a folder, cold (just evicted from the page
// cache) and warm (served from it), the way the engine streams layers: pread in 4 MiB blocks.
#pragma once

#include <cstdint>
#include <string>

namespace rb::sysbench {

constexpr uint64_t kDiskBlockBytes = 4ull << 20;

struct DiskReadOptions {
  std::string dir;
  uint64_t bytes = 256ull << 20;
};

struct DiskReadResult {
  DiskReadOptions options;
  uint64_t blockBytes = kDiskBlockBytes;
  /** MB/s = 10^6 bytes per second. */
  double coldMBps = 0;
  double warmMBps = 0;
  /** Page-cache residency just before each read: near 0 makes the cold read honest, near 1 the warm one. */
  double residentBeforeCold = 0;
  double residentBeforeWarm = 0;
};

/**
 * Writes a temporary file of `bytes` in `dir`, syncs and evicts it, reads it twice, deletes it.
 * Throws when the folder is missing, unwritable or lacks the free space.
 */
DiskReadResult measureDiskRead(const DiskReadOptions& options);

}  // namespace rb::sysbench
