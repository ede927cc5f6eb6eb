#include "engine/checkpoint_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rb {

CheckpointReader::~CheckpointReader() {
  for (auto& kv : fds_) ::close(kv.second);
}

int CheckpointReader::fdFor(const std::string& file) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = fds_.find(file);
  if (it != fds_.end()) return it->second;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + file + ": " + std::strerror(errno));
  fds_.emplace(file, fd);
  return fd;
}

void CheckpointReader::read(const std::string& file, uint64_t offset, uint64_t bytes, void* dst) {
  int fd = fdFor(file);
  auto out = static_cast<char*>(dst);
  uint64_t done = 0;
  while (done < bytes) {
    ssize_t n = ::pread(fd, out + done, bytes - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("read error in " + file + ": " + std::strerror(errno));
    }
    if (n == 0) {
      struct stat st {};
      const long long size = ::fstat(fd, &st) == 0 ? static_cast<long long>(st.st_size) : -1;
      throw std::runtime_error(file + " is truncated: needed bytes up to offset " + std::to_string(offset + bytes) +
                               ", file ends at " + std::to_string(size));
    }
    done += static_cast<uint64_t>(n);
  }
}

void CheckpointReader::dropFromPageCache(const std::string& file, uint64_t offset, uint64_t bytes) {
  constexpr uint64_t kLargestFolio = 2ull << 20;
  const uint64_t first = offset / kLargestFolio * kLargestFolio;
  const uint64_t end = (offset + bytes + kLargestFolio - 1) / kLargestFolio * kLargestFolio;
  const int err = ::posix_fadvise(fdFor(file), static_cast<off_t>(first), static_cast<off_t>(end - first), POSIX_FADV_DONTNEED);
  if (err != 0) throw std::runtime_error("cannot drop " + file + " from the page cache (posix_fadvise): " + std::strerror(err));
}

}  // namespace rb
