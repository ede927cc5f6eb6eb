#include "sysbench/disk_bandwidth.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "sysbench/page_cache.h"
#include "sysbench/posix_file.h"

namespace rb::sysbench {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kPage = 4096;
// Room left for everyone else on the filesystem after our file.
constexpr uint64_t kFreeSpaceMargin = 64 * kMiB;

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
  result.coldMBps = readAllMBps(file, options.bytes, buffer.get());
  result.residentBeforeWarm = pageCacheResidency(file.path()).fraction();
  result.warmMBps = readAllMBps(file, options.bytes, buffer.get());
  return result;
}

}  // namespace rb::sysbench
