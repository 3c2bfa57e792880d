// kernels/emu/stacks.cpp — fiber stacks: mmap'd with MAP_NORESERVE and a PROT_NONE guard page
// below. Rule: only touched pages cost memory, so 1,024 threads x 64 KiB is cheap. A SIGSEGV
// handler, run on an alternate signal stack, names the CUDA thread that faulted and, for a hit on a
// guard page, says to raise SENET_EMU_STACK_KB; then it falls back to the previous handler.
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "kernels/emu/worker.h"

#if SENET_EMU_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace emu::detail {
namespace {
struct sigaction g_previous;
thread_local Worker* g_fiber_worker = nullptr;  // set on threads that run fibers

void on_segv(int sig, siginfo_t* info, void* uctx) {
  const Thread* t = g_fiber_worker ? g_fiber_worker->current : nullptr;
  if (t && t->state == State::Running && t->fiber) {
    auto* addr = static_cast<char*>(info->si_addr);
    const long page = sysconf(_SC_PAGESIZE);
    const char* usable = t->fiber->map + page;  // lowest byte of the stack proper
    bool guard = addr >= t->fiber->map && addr < usable;
#if defined(__x86_64__)
    // A big frame may jump over the guard page: then the stack pointer itself is below the stack.
    const auto sp =
        reinterpret_cast<const char*>(static_cast<ucontext_t*>(uctx)->uc_mcontext.gregs[REG_RSP]);
    guard = guard || (sp < usable && sp >= usable - (64l << 20));
#endif
    char msg[400];
    int n = std::snprintf(
        msg, sizeof msg, "senet emu: %s in CUDA thread (%u,%u,%u) of block (%u,%u,%u)%s\n",
        guard ? "fiber stack overflow" : "segmentation fault", t->idx.x, t->idx.y, t->idx.z,
        g_fiber_worker->block.index.x, g_fiber_worker->block.index.y, g_fiber_worker->block.index.z,
        guard ? ": raise SENET_EMU_STACK_KB (e.g. SENET_EMU_STACK_KB=512)" : "");
    if (n > 0) (void)!write(2, msg, size_t(n));
  }
  sigaction(SIGSEGV, &g_previous, nullptr);  // the default (or a sanitizer's) handler takes over
  if (g_previous.sa_flags & SA_SIGINFO && g_previous.sa_sigaction)
    g_previous.sa_sigaction(sig, info, uctx);
}

void install_handler(Worker& w) {
  g_fiber_worker = &w;
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous);
  });
  // Per OS thread; a thread that has one already (sanitizer runtimes install their own) keeps it.
  static thread_local void* alt_stack = nullptr;  // kept for the thread's lifetime
  if (!alt_stack) {
    stack_t old{};
    if (sigaltstack(nullptr, &old) == 0 && !(old.ss_flags & SS_DISABLE) && old.ss_size >= 16384) {
      alt_stack = old.ss_sp;
    } else {
      stack_t ss{};
      ss.ss_size = 64 * 1024;
      ss.ss_sp = alt_stack = std::malloc(ss.ss_size);
      sigaltstack(&ss, nullptr);
    }
  }
}
}  // namespace

Fiber* new_fiber(Worker& w, void (*entry)(void*)) {
  install_handler(w);
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t bytes = (stack_bytes() + page - 1) / page * page;
  void* map = mmap(nullptr, bytes + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) {
    std::fprintf(stderr, "senet emu: cannot map a %zu KiB fiber stack\n", bytes / 1024);
    std::abort();
  }
  mprotect(map, page, PROT_NONE);
  auto* f = new Fiber;
  f->map = static_cast<char*>(map);
  f->map_bytes = bytes + page;
  f->worker = &w;
  // Colour the stack top by 64-byte lines: otherwise every fiber's hot frames sit at the same
  // page offset and evict each other from the same L1 set (measured: 2x slower barriers).
  const size_t colour = w.fibers.size() % 64 * 64;
  context_make(f->ctx, f->map + page, bytes - colour, entry, f);
  w.fibers.push_back(f);
  return f;
}

void delete_fiber(Fiber* f) {
#if SENET_EMU_ASAN
  // A parked fiber's frames leave redzones in the shadow; a later mapping at this address must
  // not inherit them.
  ASAN_UNPOISON_MEMORY_REGION(f->map, f->map_bytes);
#endif
  munmap(f->map, f->map_bytes);
  delete f;
}
}  // namespace emu::detail
