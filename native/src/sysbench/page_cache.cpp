#include "sysbench/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "sysbench/posix_file.h"

namespace rb::sysbench {
namespace {

// mincore's result vector is one byte per page; chunking keeps it small for 100 GB files.
constexpr uint64_t kChunkPages = 1 << 18;

// Mirrors the kernel's can_do_mincore(): owner, CAP_FOWNER (root) or write permission.
bool residencyObservable(int fd, const std::string& file) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throwErrno("cannot stat " + file);
  const uid_t me = ::geteuid();
  return me == 0 || st.st_uid == me || ::faccessat(AT_FDCWD, file.c_str(), W_OK, AT_EACCESS) == 0;
}

#if defined(__linux__)

class Mapping {
 public:
  // Mapping without touching faults nothing in, so looking does not disturb the cache.
  Mapping(int fd, uint64_t bytes, const std::string& file)
      : bytes_(bytes), data_(::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0)) {
    if (data_ == MAP_FAILED) throwErrno("cannot map " + file);
  }
  ~Mapping() { ::munmap(data_, bytes_); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  char* data() const { return static_cast<char*>(data_); }

 private:
  uint64_t bytes_;
  void* data_;
};

Residency residencyOf(int fd, uint64_t bytes, const std::string& file) {
  Residency r;
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  r.pages = (bytes + page - 1) / page;
  if (bytes == 0) return r;
  const Mapping map(fd, bytes, file);
  std::vector<unsigned char> vec(std::min(r.pages, kChunkPages));
  for (uint64_t first = 0; first < r.pages; first += kChunkPages) {
    const uint64_t n = std::min(kChunkPages, r.pages - first);
    if (::mincore(map.data() + first * page, n * page, vec.data()) != 0) throwErrno("mincore failed on " + file);
    for (uint64_t i = 0; i < n; ++i) r.residentPages += vec[i] & 1u;
  }
  return r;
}

void dropCachedPages(int fd, const std::string& file) {
  // DONTNEED skips dirty pages, so a freshly written file would stay cached. Writing them back
  // first (without fdatasync's journal commit) costs nothing for files nobody wrote.
  const unsigned flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  if (::sync_file_range(fd, 0, 0, flags) != 0) throwErrno("cannot write back dirty pages of " + file);
  const int err = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (err != 0) {
    errno = err;
    throwErrno("posix_fadvise(DONTNEED) failed on " + file);
  }
}

#else

[[noreturn]] void linuxOnly(const std::string& file) {
  throw std::runtime_error("page-cache residency and eviction need Linux (mincore, posix_fadvise): " + file);
}
Residency residencyOf(int, uint64_t, const std::string& file) { linuxOnly(file); }
void dropCachedPages(int, const std::string& file) { linuxOnly(file); }

#endif

EvictResult evictOne(const std::string& file) {
  EvictResult out;
  out.file = file;
  const Fd fd = openRegularFile(file, &out.bytes);
  const bool observable = residencyObservable(fd.get(), file);
  if (observable) out.residentBefore = residencyOf(fd.get(), out.bytes, file).fraction();
  dropCachedPages(fd.get(), file);
  if (!observable) return out;
  const Residency after = residencyOf(fd.get(), out.bytes, file);
  out.residentAfter = after.fraction();
  out.status = after.residentPages == 0 ? EvictStatus::Evicted : EvictStatus::StillResident;
  return out;
}

}  // namespace

Residency pageCacheResidency(const std::string& file) {
  uint64_t bytes = 0;
  const Fd fd = openRegularFile(file, &bytes);
  if (!residencyObservable(fd.get(), file)) {
    throw std::runtime_error("cannot observe the page cache of " + file +
                             ": Linux reports it (mincore) only to the file's owner or to whoever may write it");
  }
  return residencyOf(fd.get(), bytes, file);
}

std::vector<EvictResult> evictFromPageCache(const std::vector<std::string>& files) {
  std::vector<EvictResult> results;
  results.reserve(files.size());
  for (const std::string& file : files) results.push_back(evictOne(file));
  return results;
}

const char* evictStatusName(EvictStatus status) {
  switch (status) {
    case EvictStatus::Evicted: return "evicted";
    case EvictStatus::StillResident: return "still-resident";
    case EvictStatus::Unverifiable: return "unverifiable";
  }
  return "unverifiable";
}

}  // namespace rb::sysbench
