// Sequential read bandwidth of the storage under a folder: buffered, cold (just evicted from the
// page cache) and warm (served from it), the way the engine streams layers, pread in 4 MiB
// blocks; and what the device itself delivers, read with O_DIRECT in large aligned blocks with
// one and several reads in flight, which no page cache or readahead can flatter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rb::sysbench {

constexpr uint64_t kDiskBlockBytes = 4ull << 20;

struct DiskReadOptions {
  std::string dir;
  uint64_t bytes = 256ull << 20;
};

/** One O_DIRECT read of the whole file: `inFlight` threads each reading every inFlight-th block. */
struct DirectRead {
  uint64_t blockBytes = 0;
  int inFlight = 1;
  double mbps = 0;
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
  /** Bytes the device delivered during the cold read (/proc/self/io); -1 where not counted. */
  int64_t coldDeviceBytes = -1;
  /** Empty when O_DIRECT is refused; `directRefused` then says why. */
  std::vector<DirectRead> direct;
  std::string directRefused;
};

/**
 * Writes a temporary file of `bytes` in `dir`, syncs and evicts it, reads it twice buffered, then
 * with O_DIRECT in each block size x reads in flight, and deletes it.
 * Throws when the folder is missing, unwritable or lacks the free space.
 */
DiskReadResult measureDiskRead(const DiskReadOptions& options);

}  // namespace rb::sysbench
