#include "sysbench/memory_bandwidth.h"

#include <sys/mman.h>
#include <unistd.h>
#if defined(__linux__)
#include <sched.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace rb::sysbench {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
// With s = 0.5 the iterated values converge (to 4) instead of overflowing after many repeats.
constexpr double kScalar = 0.5;

/** C++17 has no std::barrier; this one can also be cancelled when a thread fails to start. */
class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}

  /** False once cancelled: the caller must stop. */
  bool arriveAndWait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (cancelled_) return false;
    const uint64_t generation = generation_;
    if (++waiting_ == count_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
      return true;
    }
    cv_.wait(lock, [&] { return generation_ != generation || cancelled_; });
    return !cancelled_;
  }

  void cancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  const int count_;
  int waiting_ = 0;
  uint64_t generation_ = 0;
  bool cancelled_ = false;
};

struct FreeDeleter {
  void operator()(double* p) const { std::free(p); }
};
using Array = std::unique_ptr<double[], FreeDeleter>;

Array allocateArray(uint64_t elements) {
  constexpr uint64_t kAlign = 2 * kMiB;
  const uint64_t bytes = (elements * sizeof(double) + kAlign - 1) / kAlign * kAlign;
  auto* p = static_cast<double*>(std::aligned_alloc(kAlign, bytes));
  if (!p) throw std::runtime_error("cannot allocate " + std::to_string(bytes / kMiB) + " MiB for the memory bandwidth arrays");
#if defined(MADV_HUGEPAGE)
  // Huge pages make the untimed first touch several times faster; STREAM numbers are usually
  // taken with them. Only advice: where they are off, nothing changes but the setup time.
  ::madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return Array(p);
}

// Overcommit lets the allocation succeed and the OOM killer end the process while touching;
// checking MemAvailable first turns that into an exception.
uint64_t availableMemoryBytes() {
#if defined(__linux__)
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
#endif
  return static_cast<uint64_t>(::sysconf(_SC_AVPHYS_PAGES)) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

void validate(const MemoryBandwidthOptions& o) {
  if (o.arrayBytes < 64 * 1024) throw std::invalid_argument("memory bandwidth: bytes must be at least 64 KiB per array");
  if (o.threads < 1 || o.threads > 1024) throw std::invalid_argument("memory bandwidth: threads must be between 1 and 1024");
  if (o.repeats < 1 || o.repeats > 1000) throw std::invalid_argument("memory bandwidth: repeats must be between 1 and 1000");
  const uint64_t needed = 3 * o.arrayBytes;
  const uint64_t available = availableMemoryBytes();
  if (needed > available / 10 * 9) {
    throw std::runtime_error("memory bandwidth needs 3 x " + std::to_string(o.arrayBytes / kMiB) + " MiB but only " +
                             std::to_string(available / kMiB) + " MiB of memory are available; ask for fewer bytes");
  }
}

struct Run {
  uint64_t elements;
  int threads;
  int repeats;
  double* a;
  double* b;
  double* c;
  Barrier barrier;
  std::vector<int64_t> copyNs;
  std::vector<int64_t> triadNs;
};

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Every thread runs the kernel on its slice between two barriers; thread 0's clock spans them.
template <typename Kernel>
bool timed(Run& run, int thread, int64_t& ns, Kernel kernel) {
  if (!run.barrier.arriveAndWait()) return false;
  const int64_t start = nowNs();
  kernel();
  if (!run.barrier.arriveAndWait()) return false;
  if (thread == 0) ns = nowNs() - start;
  return true;
}

void threadBody(Run& run, int thread) {
  const uint64_t begin = run.elements * thread / run.threads;
  const uint64_t end = run.elements * (thread + 1) / run.threads;
  double* __restrict a = run.a;
  double* __restrict b = run.b;
  double* __restrict c = run.c;
  // First touch by the thread that will stream the slice: faults happen here, untimed, and on
  // NUMA machines the pages land on that thread's node.
  for (uint64_t i = begin; i < end; ++i) {
    a[i] = 1.0;
    b[i] = 2.0;
    c[i] = 0.0;
  }
  for (int r = 0; r < run.repeats; ++r) {
    const bool ok = timed(run, thread, run.copyNs[r], [&] {
                      for (uint64_t i = begin; i < end; ++i) c[i] = a[i];
                    }) &&
                    timed(run, thread, run.triadNs[r], [&] {
                      for (uint64_t i = begin; i < end; ++i) a[i] = b[i] + kScalar * c[i];
                    });
    if (!ok) return;
  }
}

// STREAM's check: replaying the recurrence catches a broken kernel, and reading the results
// keeps the compiler from discarding the stores.
void checkResults(const Run& run) {
  double a = 1.0;
  double c = 0.0;
  for (int r = 0; r < run.repeats; ++r) {
    c = a;
    a = 2.0 + kScalar * c;
  }
  auto close = [](double x, double want) { return std::fabs(x - want) <= 1e-12 * std::fabs(want); };
  auto check = [&](uint64_t i) {
    if (!close(run.a[i], a) || !close(run.c[i], c) || run.b[i] != 2.0) {
      throw std::runtime_error("memory bandwidth kernels produced wrong values at element " + std::to_string(i));
    }
  };
  for (uint64_t i = 0; i < run.elements; i += 512) check(i);
  check(run.elements - 1);
}

KernelBandwidth summarize(std::vector<int64_t> ns, int bytesPerElement, uint64_t elements) {
  std::sort(ns.begin(), ns.end());
  const size_t n = ns.size();
  const double medianNs = n % 2 ? static_cast<double>(ns[n / 2]) : 0.5 * static_cast<double>(ns[n / 2 - 1] + ns[n / 2]);
  const double bytes = static_cast<double>(bytesPerElement) * static_cast<double>(elements);
  KernelBandwidth k;
  k.bytesPerElement = bytesPerElement;
  // bytes per nanosecond is GB/s (10^9 bytes per second).
  k.bestGBps = bytes / static_cast<double>(std::max<int64_t>(ns.front(), 1));
  k.medianGBps = bytes / std::max(medianNs, 1.0);
  return k;
}

}  // namespace

int availableThreads() {
#if defined(__linux__)
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

uint64_t l3CacheBytes() {
#if defined(_SC_LEVEL3_CACHE_SIZE)
  const long bytes = ::sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (bytes > 0) return static_cast<uint64_t>(bytes);
#endif
  return 0;
}

uint64_t defaultArrayBytes() {
  const uint64_t fromCache = (4 * l3CacheBytes() / 3 + kMiB - 1) / kMiB * kMiB;
  return std::max<uint64_t>(128 * kMiB, fromCache);
}

MemoryBandwidthResult measureMemoryBandwidth(const MemoryBandwidthOptions& options) {
  validate(options);
  const uint64_t elements = options.arrayBytes / sizeof(double);
  if (elements < static_cast<uint64_t>(options.threads)) throw std::invalid_argument("memory bandwidth: fewer elements than threads");
  Array a = allocateArray(elements);
  Array b = allocateArray(elements);
  Array c = allocateArray(elements);
  Run run{elements, options.threads, options.repeats, a.get(), b.get(), c.get(), Barrier(options.threads),
          std::vector<int64_t>(options.repeats), std::vector<int64_t>(options.repeats)};

  std::vector<std::thread> helpers;
  try {
    for (int t = 1; t < options.threads; ++t) helpers.emplace_back(threadBody, std::ref(run), t);
  } catch (const std::system_error& e) {
    run.barrier.cancel();
    for (auto& h : helpers) h.join();
    throw std::runtime_error("memory bandwidth: cannot start " + std::to_string(options.threads) + " threads: " + e.what());
  }
  threadBody(run, 0);
  for (auto& h : helpers) h.join();
  checkResults(run);

  MemoryBandwidthResult result;
  result.options = options;
  result.l3Bytes = l3CacheBytes();
  result.copy = summarize(run.copyNs, 2 * sizeof(double), elements);
  result.triad = summarize(run.triadNs, 3 * sizeof(double), elements);
  return result;
}

}  // namespace rb::sysbench
