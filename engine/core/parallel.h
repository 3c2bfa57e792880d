// engine/core/parallel.h — the engine's thread pool.
// parallel_for splits [begin, end) into one contiguous chunk per thread (static partition): which
// thread computes what depends only on the range and the thread count, so reductions done per chunk
// and merged in chunk order are reproducible for a given thread count. Nested calls run serially.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>

namespace senet {

// Number of worker threads (including the caller). Default: SENET_THREADS env or hardware cores.
// The pool's workers are bound to CPUs (see parallel.cpp; SENET_BIND=0 leaves them unbound) and
// flush denormals to zero.
int num_threads();
void set_num_threads(int n);

// Run f(tid, nthreads) once on each of nthreads threads (the caller is tid 0) and wait for all.
void parallel_region(const std::function<void(int tid, int nthreads)>& f);

// Run f(chunk_begin, chunk_end) over a static partition of [begin, end). Ranges with fewer than
// `grain` elements per thread use fewer threads. Chunks are disjoint and cover the range.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& f);

// The static partition parallel_for uses: chunk t of n over [begin, end).
inline void chunk_range(int64_t begin, int64_t end, int t, int n, int64_t* cb, int64_t* ce) {
  int64_t len = end - begin;
  *cb = begin + len * t / n;
  *ce = begin + len * (t + 1) / n;
}

// True while the current thread runs inside a parallel region (nested calls then run serially).
bool in_parallel_region();

// A barrier for the nthreads threads of one parallel_region, for kernels that run in phases
// (convert a chunk, barrier, compute on it, barrier, ...): every thread calls wait() the same number
// of times. Spins with pause, then sleeps until the last thread arrives (the machine may be
// oversubscribed).
class RegionBarrier {
 public:
  explicit RegionBarrier(int nthreads) : n_(nthreads) {}
  void wait();

 private:
  const int n_;
  std::atomic<int> arrived_{0};
  std::atomic<uint64_t> generation_{0};
};

}  // namespace senet
