// Small POSIX helpers shared by the system microbenchmarks: every failure becomes a C++
// exception naming the file, so the binding can turn it into a JS error instead of aborting.
#pragma once

#include <cstdint>
#include <string>

namespace rb::sysbench {

/** Throws std::runtime_error("<what>: <strerror(errno)>"). */
[[noreturn]] void throwErrno(const std::string& what);

/** Owns a file descriptor so that every exit path, exceptions included, closes it. */
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

/** Opens a regular file read-only; throws for a missing file, a directory, a device. */
Fd openRegularFile(const std::string& file, uint64_t* bytes);

/** Reads exactly `bytes` at `offset`, retrying short reads and EINTR. */
void preadFully(int fd, void* dst, uint64_t bytes, uint64_t offset, const std::string& file);

/** Writes exactly `bytes` at `offset`, retrying short writes and EINTR. */
void pwriteFully(int fd, const void* src, uint64_t bytes, uint64_t offset, const std::string& file);

}  // namespace rb::sysbench
