// kernels/emu/grid.cpp — a kernel launch: check the configuration, then hand blocks to workers.
// Rule: a pool of OS threads (SENET_EMU_THREADS, default all cores; the launching thread is one of
// them) takes block numbers from an atomic counter; the schedule maps numbers to blocks (forward,
// reverse, or an affine shuffle). Launches are synchronous and serialised.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "kernels/emu/capture.h"
#include "kernels/emu/worker.h"

#if SENET_EMU_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace emu {
namespace {
struct Config {
  std::mutex m;
  ScheduleSpec schedule;
  int threads = 0;
  size_t stack_kb = SENET_EMU_ASAN ? 256 : 64;  // ASan's redzones make frames several times larger
  Config() {
    if (const char* s = std::getenv("SENET_EMU_SCHEDULE"); s && !parse_schedule(s, &schedule))
      std::fprintf(stderr, "senet emu: ignoring SENET_EMU_SCHEDULE=%s (forward|reverse|random:N)\n",
                   s);
    if (const char* s = std::getenv("SENET_EMU_THREADS")) threads = std::atoi(s);
    if (const char* s = std::getenv("SENET_EMU_STACK_KB"); s && std::atoi(s) >= 16)
      stack_kb = size_t(std::atoi(s));
  }
};
Config& config() {
  static Config c;
  return c;
}
}  // namespace

void set_schedule(ScheduleSpec s) {
  std::lock_guard lock(config().m);
  config().schedule = s;
}
ScheduleSpec schedule() {
  std::lock_guard lock(config().m);
  return config().schedule;
}
void set_threads(int n) {
  std::lock_guard lock(config().m);
  config().threads = n;
}
int threads() {
  std::lock_guard lock(config().m);
  const int n = config().threads;
  return n > 0 ? n : std::max(1, int(std::thread::hardware_concurrency()));
}
bool parse_schedule(const std::string& text, ScheduleSpec* out) {
  if (text == "forward")
    *out = {Schedule::Forward, 0};
  else if (text == "reverse")
    *out = {Schedule::Reverse, 0};
  else if (text.rfind("random:", 0) == 0 && text.size() > 7)
    *out = {Schedule::Random, std::strtoull(text.c_str() + 7, nullptr, 10)};
  else
    return false;
  return true;
}
std::string to_string(ScheduleSpec s) {
  if (s.kind == Schedule::Forward) return "forward";
  if (s.kind == Schedule::Reverse) return "reverse";
  return "random:" + std::to_string(s.seed);
}
}  // namespace emu

namespace emu::detail {
size_t stack_bytes() { return config().stack_kb * 1024; }

namespace {
class Pool {  // helper OS threads; each runs the current job once per generation
 public:
  void run(int helpers, const std::function<void()>& job) {
    {
      std::lock_guard lock(m_);
      while (int(threads_.size()) < helpers) threads_.emplace_back([this] { loop(); });
      job_ = &job;
      wanted_ = helpers;
      taken_ = finished_ = 0;
      ++generation_;
    }
    start_.notify_all();
    job();
    std::unique_lock lock(m_);
    done_.wait(lock, [&] { return finished_ == wanted_; });
    job_ = nullptr;
  }

 private:
  void loop() {
    uint64_t seen = 0;
    std::unique_lock lock(m_);
    for (;;) {
      start_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (taken_ == wanted_) continue;
      ++taken_;
      const auto* job = job_;
      lock.unlock();
      (*job)();
      lock.lock();
      if (++finished_ == wanted_) done_.notify_all();
    }
  }
  std::mutex m_;
  std::condition_variable start_, done_;
  std::vector<std::thread> threads_;
  const std::function<void()>* job_ = nullptr;
  int wanted_ = 0, taken_ = 0, finished_ = 0;
  uint64_t generation_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: its threads wait forever, the process ends them
  return *p;
}

std::mutex g_launch_mutex, g_attr_mutex;
std::map<const void*, int> g_max_dynamic_smem;  // cudaFuncAttributeMaxDynamicSharedMemorySize

constexpr size_t kDefaultSmem = 48 * 1024, kMaxSmem = 227 * 1024;

cudaError_t check(const KernelLaunch& l) {
  const dim3 b = l.block, g = l.grid;
  if (b.x == 0 || b.y == 0 || b.z == 0 || b.x > 1024 || b.y > 1024 || b.z > 64 ||
      uint64_t(b.x) * b.y * b.z > 1024 || g.x == 0 || g.y == 0 || g.z == 0 || g.x > 0x7fffffffu ||
      g.y > 65535 || g.z > 65535)
    return cudaErrorInvalidConfiguration;
  size_t limit = kDefaultSmem;
  {
    std::lock_guard lock(g_attr_mutex);
    if (auto it = g_max_dynamic_smem.find(l.kernel); it != g_max_dynamic_smem.end())
      limit = std::max(limit, size_t(it->second));
  }
  return l.smem > limit ? cudaErrorInvalidValue : cudaSuccess;
}
}  // namespace

namespace {
std::atomic<int64_t> g_launches{0};
std::atomic<int64_t> g_wgmma_commits{0};
}  // namespace
void count_wgmma_commit() { g_wgmma_commits.fetch_add(1, std::memory_order_relaxed); }
}  // namespace emu::detail

int64_t emu::launches() { return detail::g_launches.load(std::memory_order_relaxed); }
int64_t emu::wgmma_commits() { return detail::g_wgmma_commits.load(std::memory_order_relaxed); }

namespace emu::detail {

cudaError_t submit_grid(cudaStream_t stream, const KernelLaunch& l, CopyBound copy) {
  bool record = false;
  cudaError_t e = capture_submit(stream, &record);
  if (e == cudaSuccess && !record) return launch_grid(l);
  if (e == cudaSuccess) e = check(l);  // a bad configuration is refused now, not at the replay
  if (e != cudaSuccess) {
    set_last_error(e);
    return cudaGetLastError();
  }
  KernelLaunch saved = l;
  std::shared_ptr<const void> bound = copy(l.bound);
  saved.bound = nullptr;
  capture_record(stream, [saved, bound] {
    KernelLaunch run = saved;
    run.bound = bound.get();
    return launch_grid(run);
  });
  return cudaGetLastError();  // as a run launch: an error still pending from before is reported
}

cudaError_t launch_grid(const KernelLaunch& l) {
  if (cudaError_t e = check(l); e != cudaSuccess) {
    set_last_error(e);
    return cudaGetLastError();
  }
  g_launches.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(g_launch_mutex);  // one grid at a time: the pool and workers are shared
  const uint64_t n = uint64_t(l.grid.x) * l.grid.y * l.grid.z;
  const ScheduleSpec s = schedule();
  uint64_t mul = 1, add = 0;  // random: block k runs as (mul*k + add) mod n, gcd(mul, n) = 1
  if (s.kind == Schedule::Random && n > 1) {
    mul = (s.seed * 0x9e3779b97f4a7c15ull >> 11) % n + 1;
    while (std::gcd(mul, n) != 1) mul = mul % n + 1;
    add = (s.seed * 0xbf58476d1ce4e5b9ull >> 7) % n;
  }
  std::atomic<uint64_t> next{0};
  const std::function<void()> work = [&] {
    Worker& w = worker();
#if SENET_EMU_ASAN
    ASAN_UNPOISON_MEMORY_REGION(w.smem.data(), w.smem.size() * sizeof(float4));
#endif
    if (w.smem.size() * sizeof(float4) < l.smem) w.smem.resize((l.smem + 15) / 16);
#if SENET_EMU_ASAN
    // Dynamic shared memory past this launch's size is out of bounds, as on a GPU.
    ASAN_POISON_MEMORY_REGION(reinterpret_cast<char*>(w.smem.data()) + l.smem,
                              w.smem.size() * sizeof(float4) - l.smem);
#endif
    for (uint64_t k; (k = next.fetch_add(1, std::memory_order_relaxed)) < n;) {
      const uint64_t b = s.kind == Schedule::Reverse ? n - 1 - k
                         : s.kind == Schedule::Random
                             ? uint64_t((unsigned __int128)mul * k % n + add) % n
                             : k;
      run_block(w, l, b, s);
    }
  };
  const int helpers = int(std::min<uint64_t>(uint64_t(threads()), n)) - 1;
  if (helpers <= 0)
    work();
  else
    pool().run(helpers, work);
  return cudaGetLastError();
}

void set_max_dynamic_smem(const void* kernel, int bytes) {
  std::lock_guard lock(g_attr_mutex);
  g_max_dynamic_smem[kernel] = bytes;
}
}  // namespace emu::detail

cudaError_t cudaFuncSetAttribute(const void* kernel, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || size_t(value) > emu::detail::kMaxSmem) return cudaErrorInvalidValue;
    emu::detail::set_max_dynamic_smem(kernel, value);
  }
  return cudaSuccess;
}
