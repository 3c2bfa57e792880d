// kernels/emu/worker.h — internal: the state of one worker OS thread and of the block it runs.
// Rule: a worker runs one block at a time; each CUDA thread of that block is a fiber that lives
// and dies on this worker (never migrates: GCC caches TLS addresses, and __shared__ is TLS).
// Fibers and their stacks are pooled per worker and reused across blocks and launches.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/emu/context.h"
#include "kernels/emu/emu_control.h"
#include "kernels/emu/emu_device.h"
#include "kernels/emu/emu_launch.h"
#include "kernels/emu/emu_runtime.h"

namespace emu::detail {
struct Worker;

struct Fiber {
  Context ctx;
  char* map = nullptr;  // mmap base: guard page first, then the stack
  size_t map_bytes = 0;
  Worker* worker = nullptr;
};

enum class State : uint8_t { NotStarted, Running, Runnable, AtBarrier, AtWarp, Exited };

struct WarpPost {  // what a lane waits for at a warp operation, and its result
  WarpOp op;
  unsigned mask;
  uint64_t value;
  int param, width;
  uint64_t result;
  int pred;
};

struct Thread {  // one CUDA thread
  uint3 idx;
  State state;
  Fiber* fiber;
  Site site;  // where it waits (barrier or warp op), for reports
  WarpPost post;
};

struct Warp {
  unsigned present;  // lanes that exist (the last warp may be partial)
  unsigned exited;
  unsigned posted;  // lanes waiting at a warp operation
};

struct Block {
  const KernelLaunch* launch = nullptr;
  uint3 index{};
  uint64_t linear = 0;
  ScheduleSpec schedule;
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  std::vector<unsigned> order;               // thread order of the current sweep
  size_t cursor = 0;                         // next position in `order`
  unsigned live = 0;                         // threads not exited
  unsigned arrived = 0;                      // threads waiting at the barrier
  Site barrier_site;                         // where the first of them waits
  bool barrier_divergent = false;            // some wait at another __syncthreads
  int barrier_true = 0;                      // predicates seen at the barrier
  int result_count = 0, result_arrived = 0;  // of the last released barrier
};

struct Worker {
  Context scheduler;
  Block block;
  Thread* current = nullptr;  // the CUDA thread running now (or last run)
  std::vector<Fiber*> fibers, free_fibers;
  std::vector<float4> smem;  // dynamic shared memory, 16-byte aligned
  ~Worker();
};

// This OS thread's worker, made on first use (scheduler.cpp).
extern thread_local Worker* g_worker;
Worker& new_worker();
inline Worker& worker() { return g_worker ? *g_worker : new_worker(); }

void run_block(Worker& w, const KernelLaunch& l, uint64_t linear, ScheduleSpec s);
Fiber* new_fiber(Worker& w, void (*entry)(void*));  // stacks.cpp
bool same_site(const Site& a, const Site& b);       // scheduler.cpp
void delete_fiber(Fiber* f);
// warp.cpp: complete the groups of `warp` whose lanes have all posted; lane >= 0 checks only the
// group of that lane (it just posted), lane < 0 every posted lane (a lane exited).
void warp_try_complete(Block& b, unsigned warp, int lane = -1);
void set_last_error(cudaError_t e);                 // runtime.cpp
size_t stack_bytes();                               // grid.cpp: SENET_EMU_STACK_KB
[[noreturn]] void report_deadlock(const Block& b);  // report.cpp
}  // namespace emu::detail
