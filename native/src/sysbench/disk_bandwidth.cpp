#include "sysbench/disk_bandwidth.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "engine/device_io.h"
#include "sysbench/page_cache.h"
#include "sysbench/posix_file.h"

namespace rb::sysbench {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kPage = 4096;
// Room left for everyone else on the filesystem after our file.
constexpr uint64_t kFreeSpaceMargin = 64 * kMiB;
// O_DIRECT reads: blocks the size a layer-streaming reader would issue, one at a time and four
// in flight (what an NVMe needs to reach its rated speed; SATA and network disks saturate sooner).
constexpr uint64_t kDirectBlocks[] = {4 * kMiB, 16 * kMiB};
constexpr int kDirectInFlight[] = {1, 4};

/** The temporary file; deleted on every exit path so a failed run leaves nothing behind. */
class TempFile {
 public:
  explicit TempFile(const std::string& dir) : path_(dir + "/.rabbit-bench-disk-read-XXXXXX") {
    std::vector<char> name(path_.begin(), path_.end());
    name.push_back('\0');
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) throwErrno("cannot create a file in " + dir);
    path_ = name.data();
    fd_ = fd;
  }
  ~TempFile() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

std::unique_ptr<char, FreeDeleter> pageAlignedBuffer(uint64_t bytes) {
  auto* p = static_cast<char*>(std::aligned_alloc(kPage, bytes));
  if (!p) throw std::runtime_error("cannot allocate the disk read buffer");
  return std::unique_ptr<char, FreeDeleter>(p);
}

void checkFreeSpace(const DiskReadOptions& o) {
  struct statvfs fs {};
  if (::statvfs(o.dir.c_str(), &fs) != 0) throwErrno("cannot use " + o.dir + " for the disk read benchmark");
  const uint64_t freeBytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (freeBytes < o.bytes + kFreeSpaceMargin) {
    throw std::runtime_error("the disk read benchmark needs " + std::to_string((o.bytes + kFreeSpaceMargin) / kMiB) +
                             " MiB free in " + o.dir + ", which has " + std::to_string(freeBytes / kMiB) + " MiB");
  }
}

// Random bytes, and every page stamped with its offset: compressing or deduplicating storage
// cannot shortcut the reads.
void writeFile(const TempFile& file, uint64_t bytes, char* buffer) {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (uint64_t i = 0; i < kDiskBlockBytes; i += sizeof(uint64_t)) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    std::memcpy(buffer + i, &state, sizeof state);
  }
  for (uint64_t offset = 0; offset < bytes; offset += kDiskBlockBytes) {
    const uint64_t n = std::min(kDiskBlockBytes, bytes - offset);
    for (uint64_t page = 0; page < n; page += kPage) {
      const uint64_t stamp = offset + page;
      std::memcpy(buffer + page, &stamp, sizeof stamp);
    }
    pwriteFully(file.fd(), buffer, n, offset, file.path());
  }
  if (::fsync(file.fd()) != 0) throwErrno("cannot fsync " + file.path());
}

double readAllMBps(const TempFile& file, uint64_t bytes, char* buffer) {
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t offset = 0; offset < bytes; offset += kDiskBlockBytes) {
    preadFully(file.fd(), buffer, std::min(kDiskBlockBytes, bytes - offset), offset, file.path());
  }
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  return static_cast<double>(bytes) / 1e6 / std::max(seconds.count(), 1e-9);
}

double directReadMBps(int fd, const std::string& path, uint64_t bytes, uint64_t block, int inFlight) {
  const uint64_t blocks = bytes / block;
  std::vector<std::unique_ptr<char, FreeDeleter>> buffers;
  for (int t = 0; t < inFlight; ++t) buffers.push_back(pageAlignedBuffer(block));
  std::vector<std::exception_ptr> errors(inFlight);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> readers;
  for (int t = 0; t < inFlight; ++t) {
    readers.emplace_back([&, t] {
      try {
        for (uint64_t b = t; b < blocks; b += inFlight) preadFully(fd, buffers[t].get(), block, b * block, path);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (std::thread& r : readers) r.join();
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return static_cast<double>(blocks * block) / 1e6 / std::max(seconds.count(), 1e-9);
}

// Every block size x reads in flight that fits the file; empty, with the reason, where the
// filesystem refuses O_DIRECT (tmpfs, some network and FUSE filesystems).
void measureDirect(const TempFile& file, uint64_t bytes, DiskReadResult& result) {
  const int fd = ::open(file.path().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    result.directRefused = std::string("this filesystem refuses O_DIRECT reads: ") + std::strerror(errno);
    return;
  }
  const Fd owned(fd);
  for (const uint64_t block : kDirectBlocks) {
    if (block > bytes) continue;
    for (const int inFlight : kDirectInFlight) {
      try {
        result.direct.push_back({block, inFlight, directReadMBps(fd, file.path(), bytes, block, inFlight)});
      } catch (const std::runtime_error& e) {
        // Some filesystems open with O_DIRECT but fail the reads (EINVAL): the same answer.
        result.direct.clear();
        result.directRefused = std::string("O_DIRECT reads failed here: ") + e.what();
        return;
      }
    }
  }
}

}  // namespace

DiskReadResult measureDiskRead(const DiskReadOptions& options) {
  if (options.dir.empty()) throw std::invalid_argument("disk read benchmark: dir must not be empty");
  if (options.bytes < kMiB) throw std::invalid_argument("disk read benchmark: bytes must be at least 1 MiB");
  checkFreeSpace(options);
  const TempFile file(options.dir);
  auto buffer = pageAlignedBuffer(kDiskBlockBytes);
  writeFile(file, options.bytes, buffer.get());

  DiskReadResult result;
  result.options = options;
  const EvictResult evicted = evictFromPageCache({file.path()}).front();
  result.residentBeforeCold = evicted.residentAfter.value_or(1.0);
  const std::optional<uint64_t> deviceBefore = rb::deviceReadBytes();
  result.coldMBps = readAllMBps(file, options.bytes, buffer.get());
  const std::optional<uint64_t> deviceAfter = rb::deviceReadBytes();
  if (deviceBefore && deviceAfter) result.coldDeviceBytes = static_cast<int64_t>(*deviceAfter - *deviceBefore);
  result.residentBeforeWarm = pageCacheResidency(file.path()).fraction();
  result.warmMBps = readAllMBps(file, options.bytes, buffer.get());
  measureDirect(file, options.bytes, result);
  return result;
}

}  // namespace rb::sysbench
