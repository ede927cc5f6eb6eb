#include "sysbench/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rb::sysbench {

void throwErrno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd openRegularFile(const std::string& file, uint64_t* bytes) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throwErrno("cannot open " + file);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throwErrno("cannot stat " + file);
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(file + " is not a regular file");
  *bytes = static_cast<uint64_t>(st.st_size);
  return fd;
}

void preadFully(int fd, void* dst, uint64_t bytes, uint64_t offset, const std::string& file) {
  auto* out = static_cast<char*>(dst);
  uint64_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::pread(fd, out + done, bytes - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throwErrno("read error in " + file);
    if (n == 0) throw std::runtime_error(file + " ended early at offset " + std::to_string(offset + done));
    done += static_cast<uint64_t>(n);
  }
}

void pwriteFully(int fd, const void* src, uint64_t bytes, uint64_t offset, const std::string& file) {
  const auto* in = static_cast<const char*>(src);
  uint64_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::pwrite(fd, in + done, bytes - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throwErrno("write error in " + file);
    done += static_cast<uint64_t>(n);
  }
}

}  // namespace rb::sysbench
