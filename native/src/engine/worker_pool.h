// The compute threads of the CPU backend: one persistent pool per process, the calling thread
// included. A decode step runs ~5 parallel loops per layer, a few microseconds apart. OpenMP's
// passive wait policy (needed so idle workers leave the cores to the prefetch thread and Node)
// put every worker to sleep at the end of each loop, two context switches per loop; its active
// policy spins without bound and starves the prefetch thread. Workers here spin for a bounded
// time after each loop, which bridges the gaps within a step, and then sleep.
#pragma once

namespace rb {

// A non-owning reference to `void(int begin, int end)`: no allocation per loop.
class RangeBody {
 public:
  template <typename F>
  RangeBody(const F& f) : object_(&f), call_([](const void* o, int b, int e) { (*static_cast<const F*>(o))(b, e); }) {}
  void operator()(int begin, int end) const { call_(object_, begin, end); }

 private:
  const void* object_;
  void (*call_)(const void*, int, int);
};

// Threads (the caller included) the calling thread's loops run on; per calling thread, like
// omp_set_num_threads. At least 1.
void setComputeThreads(int threads);
int computeThreads();

// Calls body(begin, end) over [0, count) in chunks of `chunk` items, claimed in turn by the caller
// and computeThreads() - 1 workers, and returns when every chunk is done. Dynamic claiming: a
// thread the OS preempts (the prefetch thread shares the cores) delays only its own chunk. With
// one thread, or while another thread's loop holds the pool, the caller runs every chunk itself.
// The first exception a chunk throws is rethrown here, after the other chunks finish.
void parallelFor(int count, int chunk, RangeBody body);

}  // namespace rb
