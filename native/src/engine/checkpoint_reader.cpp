#include "engine/checkpoint_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rb {

namespace {
long long fileSize(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

[[noreturn]] void throwTruncated(const std::string& file, uint64_t end, long long size) {
  throw std::runtime_error(file + " is truncated: needed bytes up to offset " + std::to_string(end) + ", file ends at " +
                           std::to_string(size));
}
}  // namespace

CheckpointReader::~CheckpointReader() {
  for (auto& kv : maps_) ::munmap(const_cast<uint8_t*>(kv.second.base), kv.second.size);
  for (auto& kv : fds_) ::close(kv.second);
  for (auto& kv : directFds_) ::close(kv.second);
}

int CheckpointReader::fdFor(const std::string& file, bool direct) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& fds = direct ? directFds_ : fds_;
  auto it = fds.find(file);
  if (it != fds.end()) return it->second;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  if (fd < 0 && direct && errno == EINVAL) {
    throw std::runtime_error("--io direct: the filesystem of " + file + " refuses O_DIRECT (tmpfs does on some kernels): use --io pread or mmap");
  }
  if (fd < 0) throw std::runtime_error("cannot open " + file + ": " + std::strerror(errno));
  fds.emplace(file, fd);
  return fd;
}

namespace {
// Reads until `bytes` are in or the file ends. An O_DIRECT read also ends at a short read that
// leaves `done` unaligned: only the end of the file gives one.
uint64_t readUntil(int fd, const std::string& file, uint64_t offset, uint64_t bytes, char* out, bool direct) {
  uint64_t done = 0;
  while (done < bytes) {
    ssize_t n = ::pread(fd, out + done, bytes - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (direct && errno == EINVAL) throw std::runtime_error("--io direct: " + file + " refused an aligned O_DIRECT read (EINVAL): use --io pread or mmap");
      throw std::runtime_error("read error in " + file + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
    if (direct && done % CheckpointReader::kDirectAlign != 0) break;
  }
  return done;
}
}  // namespace

void CheckpointReader::read(const std::string& file, uint64_t offset, uint64_t bytes, void* dst) {
  const int fd = fdFor(file);
  if (readUntil(fd, file, offset, bytes, static_cast<char*>(dst), false) < bytes) throwTruncated(file, offset + bytes, fileSize(fd));
}

uint64_t CheckpointReader::readDirect(const std::string& file, uint64_t offset, uint64_t bytes, uint64_t needed, void* dst) {
  const int fd = fdFor(file, true);
  const uint64_t done = readUntil(fd, file, offset, bytes, static_cast<char*>(dst), true);
  if (done < needed) throwTruncated(file, offset + needed, fileSize(fd));
  return done;
}

const uint8_t* CheckpointReader::map(const std::string& file, uint64_t offset, uint64_t bytes) {
  const int fd = fdFor(file);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = maps_.find(file);
  if (it == maps_.end()) {
    const long long size = fileSize(fd);
    if (size <= 0) throwTruncated(file, offset + bytes, size);
    void* p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) throw std::runtime_error("cannot map " + file + ": " + std::strerror(errno));
    it = maps_.emplace(file, Mapping{static_cast<const uint8_t*>(p), static_cast<uint64_t>(size)}).first;
  }
  if (offset + bytes > it->second.size) throwTruncated(file, offset + bytes, static_cast<long long>(it->second.size));
  return it->second.base;
}

void CheckpointReader::unmapAllPages() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& kv : maps_) ::madvise(const_cast<uint8_t*>(kv.second.base), kv.second.size, MADV_DONTNEED);
}

void CheckpointReader::dropFromPageCache(const std::string& file, uint64_t offset, uint64_t bytes) {
  constexpr uint64_t kLargestFolio = 2ull << 20;
  const uint64_t first = offset / kLargestFolio * kLargestFolio;
  const uint64_t end = (offset + bytes + kLargestFolio - 1) / kLargestFolio * kLargestFolio;
  const int err = ::posix_fadvise(fdFor(file), static_cast<off_t>(first), static_cast<off_t>(end - first), POSIX_FADV_DONTNEED);
  if (err != 0) throw std::runtime_error("cannot drop " + file + " from the page cache (posix_fadvise): " + std::strerror(err));
}

}  // namespace rb
