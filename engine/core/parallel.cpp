// engine/core/parallel.cpp — a fixed pool of worker threads woken per parallel region.
// Workers spin on a generation counter for up to kSpin (regions come in quick succession during
// training: waking a sleeping thread costs tens of µs, and a core that has idled ≥ 0.3 s runs the
// next region 2.5–4× slower, ../shared/CPU_CONV.md), then sleep on a condition variable. Every
// thread that runs regions flushes denormals to zero (MXCSR FTZ|DAZ, a per-thread flag): a conv
// on denormal activations otherwise runs 100–200× slower.
// Worker t is bound to the t-th CPU the process may run on (when there are at least as many CPUs
// as threads; SENET_BIND=0 turns it off). Unbound, the guest scheduler moved the workers between
// cores often enough that one run in three of a training step was 20–45 % slower than the others
// (measured on a 2-vCPU VM: 1,480–2,440 img/s unbound, 2,300–2,480 bound). The calling thread is
// left unbound, so threads it creates later (data loaders) keep the whole CPU set. The first exception thrown by any thread is re-thrown to the
// caller after every thread has finished the region.
#include "engine/core/parallel.h"

#include <pthread.h>
#include <sched.h>
#include <xmmintrin.h>
#include <algorithm>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "engine/core/error.h"

namespace senet {
namespace {

thread_local bool t_in_region = false;
thread_local bool t_ftz = false;

constexpr auto kSpin = std::chrono::microseconds(2000);

void flush_denormals() {
  if (t_ftz) return;
  _mm_setcsr(_mm_getcsr() | 0x8040);  // FTZ (bit 15) | DAZ (bit 6)
  t_ftz = true;
}

// Spin (with pause) while pred() holds, for at most kSpin; returns pred()'s last value.
template <class Pred>
bool spin_while(Pred pred) {
  auto until = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0; pred(); ++i) {
    _mm_pause();
    if ((i & 255) == 255 && std::chrono::steady_clock::now() > until) return pred();
  }
  return false;
}

class Pool {
 public:
  explicit Pool(int n) : n_(n) {
    plan_binding();
    try {
      for (int t = 1; t < n_; ++t) workers_.emplace_back([this, t] { worker(t); });
    } catch (const std::system_error& e) {  // e.g. no address space left for a thread's stack
      stop_workers();
      fail("cannot start worker thread ", workers_.size() + 1, " of ", n_ - 1, ": ", e.what(),
           " (out of memory or over the thread limit: lower --threads, or raise ulimit -v / -u)");
    }
  }
  ~Pool() { stop_workers(); }
  int size() const { return n_; }

  void run(const std::function<void(int, int)>& f, int nthreads) {
    {
      std::lock_guard<std::mutex> lock(m_);
      job_ = &f;
      job_threads_ = nthreads;
      remaining_.store(nthreads - 1);
      error_ = nullptr;
      generation_.fetch_add(1);
    }
    start_.notify_all();
    run_one(&f, 0, nthreads);
    // Wait for the workers: spin first (short regions), then sleep.
    if (spin_while([&] { return remaining_.load(std::memory_order_acquire) > 0; })) {
      std::unique_lock<std::mutex> lock(m_);
      done_.wait(lock, [this] { return remaining_.load() == 0; });
    }
    std::lock_guard<std::mutex> lock(m_);
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
      generation_.fetch_add(1);
    }
    start_.notify_all();
    for (auto& w : workers_) w.join();
  }

  void run_one(const std::function<void(int, int)>* job, int tid, int nthreads) {
    t_in_region = true;
    try {
      (*job)(tid, nthreads);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m_);
      if (!error_) error_ = std::current_exception();
    }
    t_in_region = false;
  }

  // CPU of worker t: the t-th CPU of the process's affinity set, if binding is on and there are
  // enough CPUs; -1 = unbound.
  void plan_binding() {
    const char* e = std::getenv("SENET_BIND");
    if (e && std::string(e) == "0") return;
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < n_) return;
    for (int cpu = 0; cpu < CPU_SETSIZE && int(cpus_.size()) < n_; ++cpu)
      if (CPU_ISSET(cpu, &allowed)) cpus_.push_back(cpu);
  }

  void bind_worker(int tid) {
    if (tid >= int(cpus_.size())) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus_[size_t(tid)], &one);
    pthread_setaffinity_np(pthread_self(), sizeof one,
                           &one);  // best effort: a failure only costs speed
  }

  void worker(int tid) {
    uint64_t seen = 0;
    flush_denormals();
    bind_worker(tid);
    for (;;) {
      // Spin a little for the next region before sleeping.
      spin_while([&] { return generation_.load(std::memory_order_acquire) == seen; });
      const std::function<void(int, int)>* job;
      int nthreads;
      {  // read the job under the lock that published it, together with its generation
        std::unique_lock<std::mutex> lock(m_);
        start_.wait(lock, [&] { return generation_.load() != seen; });
        seen = generation_.load();
        if (stop_) return;
        job = job_;
        nthreads = job_threads_;
      }
      if (job && tid < nthreads) {
        run_one(job, tid, nthreads);
        if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          std::lock_guard<std::mutex> lock(m_);
          done_.notify_one();
        }
      }
    }
  }

  int n_;
  std::vector<int> cpus_;  // CPU of each thread id (empty: unbound)
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable start_, done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> remaining_{0};
  const std::function<void(int, int)>* job_ = nullptr;
  int job_threads_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

int default_threads() {
  if (const char* e = std::getenv("SENET_THREADS")) {
    int n = std::atoi(e);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::mutex g_pool_mutex;  // guards creation/replacement; regions themselves run one at a time
std::unique_ptr<Pool> g_pool;
int g_threads = 0;

Pool& pool() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_threads) g_threads = default_threads();
  if (!g_pool || g_pool->size() != g_threads) {
    g_pool.reset();
    g_pool = std::make_unique<Pool>(g_threads);
  }
  return *g_pool;
}

}  // namespace

int num_threads() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_threads) g_threads = default_threads();
  return g_threads;
}

void set_num_threads(int n) {
  SENET_CHECK(n >= 1, "set_num_threads: need at least 1 thread, got ", n);
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  g_threads = n;
}

bool in_parallel_region() { return t_in_region; }

// Spin for up to kSpin, like the pool (a chunked kernel passes 10–20 barriers per call, and a
// short spin followed by a futex sleep cost ≈ 1 ms per call in wake-ups: measured), then block on
// the generation word (futex) rather than yield, which handed whole time slices to other
// processes on a busy machine.
void RegionBarrier::wait() {
  if (n_ <= 1) return;
  const uint64_t gen = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
    arrived_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
    return;
  }
  spin_while([&] { return generation_.load(std::memory_order_acquire) == gen; });
  while (generation_.load(std::memory_order_acquire) == gen)
    generation_.wait(gen, std::memory_order_acquire);
}

void parallel_region(const std::function<void(int, int)>& f) {
  flush_denormals();
  int n = num_threads();
  if (n == 1 || t_in_region) {
    f(0, 1);
    return;
  }
  pool().run(f, n);
}

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& f) {
  int64_t len = end - begin;
  if (len <= 0) return;
  flush_denormals();
  int n = num_threads();
  if (grain < 1) grain = 1;
  int use = int(std::min<int64_t>(n, std::max<int64_t>(1, len / grain)));
  if (use == 1 || t_in_region) {
    f(begin, end);
    return;
  }
  pool().run(
      [&](int t, int nt) {
        int64_t cb, ce;
        chunk_range(begin, end, t, nt, &cb, &ce);
        if (cb < ce) f(cb, ce);
      },
      use);
}

}  // namespace senet
