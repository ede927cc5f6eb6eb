#include "engine/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RB_PAUSE() _mm_pause()
#else
#define RB_PAUSE() std::this_thread::yield()
#endif

namespace rb {
namespace {

// How long a worker spins for the next loop before it sleeps. The loops of one step are a few
// microseconds apart; between steps (sampling, Node) and while the compute thread waits for the
// prefetch thread the gap is longer, and a spinning worker would take the core the prefetch
// thread reads on.
constexpr std::chrono::nanoseconds kSpin{100'000};

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(sleepMutex_);
      stop_ = true;
      epoch_.fetch_add(1);
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  void run(int threads, int count, int chunk, RangeBody body) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (threads <= 1 || count <= chunk || !busy.owns_lock()) {
      body(0, count);
      return;
    }
    grow(threads - 1);
    Job job(body, count, chunk, threads - 1);
    job_ = &job;
    pending_.store(static_cast<int>(threads_.size()));
    epoch_.fetch_add(1);  // seq_cst, paired with the sleepers_ check below and in wait()
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(sleepMutex_);
      wake_.notify_all();
    }
    work(job);
    // The workers finish their last chunks within microseconds unless the OS preempted one.
    for (int spins = 0; pending_.load(std::memory_order_acquire) > 0; ++spins) {
      if (spins < 4096) RB_PAUSE();
      else std::this_thread::yield();
    }
    job_ = nullptr;
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  struct Job {
    Job(RangeBody b, int n, int c, int w) : body(b), count(n), chunk(c), workers(w) {}
    RangeBody body;
    int count, chunk, workers;
    std::atomic<int> next{0};
    std::mutex errorMutex;
    std::exception_ptr error;
  };

  static void work(Job& job) {
    for (;;) {
      const int begin = job.next.fetch_add(job.chunk, std::memory_order_relaxed);
      if (begin >= job.count) return;
      try {
        job.body(begin, std::min(job.count, begin + job.chunk));
      } catch (...) {
        std::lock_guard<std::mutex> lock(job.errorMutex);
        if (!job.error) job.error = std::current_exception();
      }
    }
  }

  void grow(int workers) {
    while (static_cast<int>(threads_.size()) < workers) {
      const int id = static_cast<int>(threads_.size());
      threads_.emplace_back([this, id, seen = epoch_.load()] { loop(id, seen); });
    }
  }

  void loop(int id, uint64_t seen) {
    for (;;) {
      seen = wait(seen);
      if (stop_) return;
      Job& job = *job_;
      if (id < job.workers) work(job);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  // Returns the next epoch after `seen`, spinning for kSpin before sleeping.
  uint64_t wait(uint64_t seen) {
    // Not timer.h's clock: a build with the timers compiled out reads 0 there.
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int spins = 0;; ++spins) {
      const uint64_t now = epoch_.load(std::memory_order_acquire);
      if (now != seen) return now;
      if ((spins & 63) == 63 && std::chrono::steady_clock::now() > until) break;
      RB_PAUSE();
    }
    std::unique_lock<std::mutex> lock(sleepMutex_);
    sleepers_.fetch_add(1);
    wake_.wait(lock, [&] { return epoch_.load() != seen; });
    sleepers_.fetch_sub(1);
    return epoch_.load();
  }

  std::mutex busy_;  // one loop at a time; others run on their caller
  std::vector<std::thread> threads_;
  Job* job_ = nullptr;  // published by the epoch_ increment
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::mutex sleepMutex_;
  std::condition_variable wake_;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

int defaultThreads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

thread_local int callerThreads = 0;

}  // namespace

void setComputeThreads(int threads) { callerThreads = std::max(1, threads); }

int computeThreads() { return callerThreads > 0 ? callerThreads : defaultThreads(); }

void parallelFor(int count, int chunk, RangeBody body) {
  if (count <= 0) return;
  pool().run(computeThreads(), count, std::max(1, chunk), body);
}

}  // namespace rb
