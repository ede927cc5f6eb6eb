// Reads byte ranges of checkpoint files: with pread (through the page cache), with O_DIRECT
// (around it), or by mapping the file. Files stay open, and mapped, for the engine's life.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace rb {

class CheckpointReader {
 public:
  CheckpointReader() = default;
  ~CheckpointReader();
  CheckpointReader(const CheckpointReader&) = delete;
  CheckpointReader& operator=(const CheckpointReader&) = delete;

  // Reads exactly `bytes` bytes at `offset`; throws std::runtime_error naming the file on a
  // short read (a truncated checkpoint) or an I/O error.
  void read(const std::string& file, uint64_t offset, uint64_t bytes, void* dst);
  // Asks the kernel to drop the cached pages holding [offset, offset + bytes), so the next read
  // comes from the disk. The kernel drops only the folios wholly inside the range, and its page
  // cache holds large folios (up to 2 MiB on x86-64), so the range is widened to 2 MiB: widened to
  // pages only, SmolLM2-135M's 0.2-1.7 MB tensors kept 74% of the file cached under --cold=step.
  void dropFromPageCache(const std::string& file, uint64_t offset, uint64_t bytes);

  // O_DIRECT reads go to the device whatever the page cache holds. Offsets, lengths and buffers
  // must be multiples of this (the logical block size of every common disk divides it).
  static constexpr uint64_t kDirectAlign = 4096;
  // Reads the aligned range [offset, offset + bytes) with O_DIRECT into aligned `dst`; the file
  // may end inside it, but not before `needed` bytes. Returns the bytes read. Throws naming the
  // file when its filesystem refuses O_DIRECT (tmpfs does on some kernels).
  uint64_t readDirect(const std::string& file, uint64_t offset, uint64_t bytes, uint64_t needed, void* dst);
  // The whole file mapped read-only; throws naming the file if [offset, offset + bytes) is past
  // its end (a truncated checkpoint).
  const uint8_t* map(const std::string& file, uint64_t offset, uint64_t bytes);
  // Unmaps every page of every mapped file from this process (they stay in the page cache):
  // the kernel maps pages around each fault, beyond the tensor that faulted.
  void unmapAllPages();

 private:
  int fdFor(const std::string& file, bool direct = false);
  std::mutex mutex_;
  std::unordered_map<std::string, int> fds_, directFds_;
  struct Mapping {
    const uint8_t* base;
    uint64_t size;
  };
  std::unordered_map<std::string, Mapping> maps_;
};

}  // namespace rb
