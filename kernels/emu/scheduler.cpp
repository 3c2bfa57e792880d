// kernels/emu/scheduler.cpp — runs one thread block: its CUDA threads as fibers, in sweeps.
// Rule: a sweep resumes every runnable thread once, in the schedule's order (forward, reverse or a
// seeded shuffle); each runs until it waits (barrier, warp op, __nanosleep) or exits. A barrier
// opens when all live threads wait at the same call site. A sweep that runs nobody is a deadlock.
// Fibers pass control to the next thread directly; a thread that exits hands its stack to the
// next unstarted one (no switch at all: a barrier-free kernel is a loop).
#include <algorithm>
#include <cstring>

#include "kernels/emu/worker.h"

namespace emu::detail {

thread_local Worker* g_worker = nullptr;  // plain pointer: no TLS guard on the hot path
namespace {
struct WorkerOwner {
  Worker* w = nullptr;
  ~WorkerOwner() { delete w; }
};
thread_local WorkerOwner g_owner;  // frees the worker when its OS thread ends
}  // namespace

Worker& new_worker() { return *(g_worker = g_owner.w = new Worker); }

Worker::~Worker() {
  for (Fiber* f : fibers) delete_fiber(f);
}

bool same_site(const Site& a, const Site& b) {
  return a.line() == b.line() && a.column() == b.column() &&
         (a.file_name() == b.file_name() || std::strcmp(a.file_name(), b.file_name()) == 0);
}

void* dynamic_shared() { return worker().smem.data(); }

namespace {
void fiber_main(void* arg);

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void start(Worker& w, Thread& t) {
  w.current = &t;
  threadIdx = t.idx;
  t.state = State::Running;
}

void release_barrier(Block& b) {
  b.result_count = b.barrier_true;
  b.result_arrived = int(b.arrived);
  b.arrived = 0;
  b.barrier_true = 0;
  b.barrier_divergent = false;
  for (Thread& t : b.threads)
    if (t.state == State::AtBarrier) t.state = State::Runnable;
}

// All live threads wait at the barrier: open it, unless they wait at different call sites
// (divergent __syncthreads), which stays closed and is reported as a deadlock.
void try_release_barrier(Block& b) {
  if (b.arrived != 0 && b.arrived == b.live && !b.barrier_divergent) release_barrier(b);
}

void on_exit(Block& b, Thread& t) {
  t.state = State::Exited;
  --b.live;
  auto i = unsigned(&t - b.threads.data());
  Warp& warp = b.warps[i / 32];
  warp.exited |= 1u << (i % 32);
  if (warp.posted) warp_try_complete(b, i / 32);
  try_release_barrier(b);
}

Fiber* new_fiber(Worker& w) { return new_fiber(w, &fiber_main); }

// The next thread of the current sweep that can run, made current (a fresh one gets a pooled
// fiber); nullptr when the sweep is over. Fibers switch to it directly, not via the scheduler.
Thread* next_in_sweep(Worker& w) {
  Block& b = w.block;
  while (b.cursor < b.order.size()) {
    Thread& t = b.threads[b.order[b.cursor++]];
    if (t.state == State::NotStarted) {
      if (w.free_fibers.empty()) w.free_fibers.push_back(new_fiber(w));
      t.fiber = w.free_fibers.back();
      w.free_fibers.pop_back();
    } else if (t.state != State::Runnable) {
      continue;
    }
    start(w, t);
    return &t;
  }
  return nullptr;
}

Context& context_of(Worker& w, Thread* t) { return t ? t->fiber->ctx : w.scheduler; }

// Every fiber runs this forever: run the current CUDA thread, then as many unstarted successors
// in the sweep as possible on the same stack; then return to the pool and pass control on.
void fiber_main(void* arg) {
  auto* f = static_cast<Fiber*>(arg);
  Worker& w = *f->worker;
  for (;;) {
    Block& b = w.block;
    for (;;) {
      b.launch->body(b.launch->bound);
      on_exit(b, *w.current);
      if (b.cursor == b.order.size()) break;
      Thread& next = b.threads[b.order[b.cursor]];
      if (next.state != State::NotStarted) break;
      ++b.cursor;
      next.fiber = f;
      start(w, next);
    }
    w.free_fibers.push_back(f);
    Thread* next = next_in_sweep(w);
    if (next && next->fiber == f) continue;  // it got this very fiber: start it here
    context_switch(f->ctx, context_of(w, next));
  }
}

void make_order(Block& b, uint64_t sweep) {
  auto n = unsigned(b.threads.size());
  b.order.resize(n);
  for (unsigned i = 0; i < n; ++i) b.order[i] = i;
  if (b.schedule.kind == Schedule::Reverse) std::reverse(b.order.begin(), b.order.end());
  if (b.schedule.kind == Schedule::Random) {
    uint64_t r = splitmix(b.schedule.seed ^ splitmix(b.linear * 0x10001 + sweep));
    for (unsigned i = n; i > 1; --i) {  // Fisher-Yates
      r = splitmix(r);
      std::swap(b.order[i - 1], b.order[r % i]);
    }
  }
}
}  // namespace

void run_block(Worker& w, const KernelLaunch& l, uint64_t linear, ScheduleSpec s) {
  Block& b = w.block;
  const dim3 bd = l.block, gd = l.grid;
  const unsigned n = bd.x * bd.y * bd.z;
  b.launch = &l;
  b.linear = linear;
  b.schedule = s;
  b.index = {unsigned(linear % gd.x), unsigned(linear / gd.x % gd.y),
             unsigned(linear / (uint64_t(gd.x) * gd.y))};
  b.threads.resize(n);
  for (unsigned i = 0; i < n; ++i)
    b.threads[i] = Thread{{i % bd.x, i / bd.x % bd.y, i / (bd.x * bd.y)},
                          State::NotStarted,
                          nullptr,
                          Site{},
                          WarpPost{}};
  b.warps.assign((n + 31) / 32, Warp{0xffffffffu, 0, 0});
  if (n % 32) b.warps.back().present = (1u << (n % 32)) - 1;
  b.live = n;
  b.arrived = 0;
  b.barrier_true = 0;
  b.barrier_divergent = false;
  blockIdx = b.index;
  blockDim = bd;
  gridDim = gd;
  if (l.smem) std::memset(w.smem.data(), 0xff, l.smem);

  for (uint64_t sweep = 0; b.live > 0; ++sweep) {
    if (sweep == 0 || s.kind == Schedule::Random) make_order(b, sweep);
    b.cursor = 0;
    Thread* first = next_in_sweep(w);
    if (!first) report_deadlock(b);
    context_switch(w.scheduler, first->fiber->ctx);  // back here when the sweep is over
  }
}

namespace {
// Called by the running CUDA thread: record why it waits, then pass control to the next thread
// of the sweep (or the scheduler) until a later sweep resumes it.
inline void wait_here(Worker& w, State why, const Site& site) {
  Thread& t = *w.current;
  t.state = why;
  t.site = site;
}
inline void switch_out(Worker& w) {
  Fiber* self = w.current->fiber;
  context_switch(self->ctx, context_of(w, next_in_sweep(w)));
}
}  // namespace

int barrier(BarrierKind kind, int predicate, const Site& site) {
  Worker& w = worker();
  Block& b = w.block;
  wait_here(w, State::AtBarrier, site);
  if (b.arrived == 0)
    b.barrier_site = site;
  else if (!same_site(site, b.barrier_site))
    b.barrier_divergent = true;
  ++b.arrived;
  b.barrier_true += predicate != 0;
  try_release_barrier(b);
  switch_out(w);
  switch (kind) {
    case BarrierKind::Count: return b.result_count;
    case BarrierKind::And: return b.result_count == b.result_arrived;
    case BarrierKind::Or: return b.result_count > 0;
    default: return 0;
  }
}

uint64_t warp_op(WarpOp op, unsigned mask, uint64_t value, int param, int width, const Site& site,
                 int* pred) {
  Worker& w = worker();
  Block& b = w.block;
  Thread& t = *w.current;
  auto i = unsigned(&t - b.threads.data());
  wait_here(w, State::AtWarp, site);
  t.post = WarpPost{op, mask, value, param, width, 0, 0};
  b.warps[i / 32].posted |= 1u << (i % 32);
  warp_try_complete(b, i / 32, i % 32);
  switch_out(w);
  if (pred) *pred = t.post.pred;
  return t.post.result;
}

unsigned active_mask() {
  Worker& w = worker();
  auto i = unsigned(w.current - w.block.threads.data());
  const Warp& warp = w.block.warps[i / 32];
  return warp.present & ~warp.exited;
}

void yield() {
  Worker& w = worker();
  w.current->state = State::Runnable;
  switch_out(w);
}
}  // namespace emu::detail
