// kernels/emu/emu_control.h — knobs of the emulator: thread schedule and worker-thread count.
// Rule: the environment sets the defaults once (SENET_EMU_SCHEDULE=forward|reverse|random:N,
// SENET_EMU_THREADS=N, SENET_EMU_STACK_KB=N); tests may override them in code. A schedule fixes the
// order in which a block's threads run between sync points, and the order blocks are taken.
#pragma once
#include <cstdint>
#include <string>

namespace emu {
constexpr bool is_emulated() { return true; }

enum class Schedule { Forward, Reverse, Random };
struct ScheduleSpec {
  Schedule kind = Schedule::Forward;
  uint64_t seed = 0;  // Random only
};
void set_schedule(ScheduleSpec s);
inline void set_schedule(Schedule k, uint64_t seed = 0) { set_schedule(ScheduleSpec{k, seed}); }
ScheduleSpec schedule();
bool parse_schedule(const std::string& text, ScheduleSpec* out);  // "forward", "random:7", ...
std::string to_string(ScheduleSpec s);

void set_threads(int n);  // worker OS threads; <= 0 means all cores
int threads();

// Calls so far that make (or may make) the host wait for the device: copies into pageable host
// memory (cudaMemcpy, and cudaMemcpyAsync device → host unless into cudaMallocHost memory, which
// returns at once), synchronous cudaMemcpy uploads, cudaMemcpyAsync uploads from pageable memory
// (the driver may synchronise first), cudaStreamSynchronize / cudaEventSynchronize /
// cudaDeviceSynchronize. On a GPU each is a round trip that idles the device; tests count them (a
// steady-state training step should make none).
int64_t host_waits();
// cudaMalloc / cudaMallocManaged / cudaMallocHost / cudaFree / cudaFreeHost calls so far (non-null
// frees): each may synchronise the device, which is why the engine caches its blocks; a
// steady-state training step should make none either.
int64_t allocator_calls();
// A device that runs behind the host, for tests of code that polls (engine/cuda/upload.cpp,
// engine/cuda/readback.cpp): an event recorded from now on answers cudaEventQuery with
// cudaErrorNotReady its first `queries` times (cudaEventSynchronize, counted as a host wait, makes
// it ready). The emulator runs all work at once, so by default (0) every event is ready at once.
void set_event_query_lag(int queries);
int event_query_lag();
// Kernels launched so far (valid launches; an empty grid is rejected, not counted). Tests use it to
// count the launches of a step (e.g. one multi-tensor optimizer launch instead of one per tensor).
int64_t launches();
// cudaGraphLaunch calls so far (each replays a captured graph: its kernels count in launches()).
int64_t graph_launches();
// Warpgroup-MMA groups committed so far (kernels/wgmma_tf32.cuh, wgmma_pipe::commit; counted by
// the warpgroup's first thread, threadIdx.x a multiple of 128: the conv tiles' 1-D blocks). Tests use it to see that a launcher or the engine
// took the wgmma path, whose results equal the mma.sync path's.
int64_t wgmma_commits();
namespace detail {
void count_wgmma_commit();  // wgmma_pipe::commit's side
}  // namespace detail

// Sets a schedule and thread count for a scope, restores the previous ones after.
class ScopedSchedule {
 public:
  explicit ScopedSchedule(ScheduleSpec s, int nthreads = 1)
      : old_(schedule()), old_threads_(threads()) {
    set_schedule(s);
    set_threads(nthreads);
  }
  ~ScopedSchedule() {
    set_schedule(old_);
    set_threads(old_threads_);
  }
  ScopedSchedule(const ScopedSchedule&) = delete;
  ScopedSchedule& operator=(const ScopedSchedule&) = delete;

 private:
  ScheduleSpec old_;
  int old_threads_;
};
}  // namespace emu
