// kernels/emu/context.h — internal: switching between execution contexts (fibers) on one OS thread.
// Rule: x86-64 uses a 16-instruction switch that saves only the callee-saved registers (the C ABI
// says the caller saved the rest); MXCSR/x87 state is not saved, CUDA code cannot change it.
// Elsewhere, or with -DSENET_EMU_UCONTEXT, glibc ucontext (about 100x slower: a syscall per
// switch).
// Under AddressSanitizer (GCC: __SANITIZE_ADDRESS__) every switch is announced with
// __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber, so ASan knows which stack runs
// (stack bounds for reports and __asan_handle_no_return, fake stacks for use-after-return).
#pragma once
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define SENET_EMU_ASAN 1
#else
#define SENET_EMU_ASAN 0
#endif

#if !defined(__x86_64__) && !defined(SENET_EMU_UCONTEXT)
#define SENET_EMU_UCONTEXT 1
#endif
#if defined(SENET_EMU_UCONTEXT)
#include <ucontext.h>
#endif

namespace emu::detail {
struct Context {
#if defined(SENET_EMU_UCONTEXT)
  ucontext_t uc;
#else
  void* sp = nullptr;  // saved stack pointer; the registers are on that stack
#endif
#if SENET_EMU_ASAN
  // The stack this context runs on: set by context_make for a fiber; for an OS thread's own
  // stack (the scheduler context) learnt from ASan when the first switch away from it arrives.
  const void* stack_lo = nullptr;
  size_t stack_size = 0;
  void (*entry)(void*) = nullptr;  // a new fiber starts in an ASan-aware wrapper that calls these
  void* arg = nullptr;
#endif
};
// Prepares `c` so that the first switch to it calls entry(arg) on the given stack. entry must
// never return (it switches away for good instead).
void context_make(Context& c, void* stack_lo, size_t stack_bytes, void (*entry)(void*), void* arg);
// Saves the running context into `from` and continues `to` (never `from` itself).
#if !defined(SENET_EMU_UCONTEXT)
}  // namespace emu::detail
extern "C" void senet_emu_switch(void** save_sp, void* new_sp);  // context.cpp
namespace emu::detail {
#endif
#if defined(SENET_EMU_UCONTEXT) || SENET_EMU_ASAN
void context_switch(Context& from, Context& to);  // context.cpp
#else
inline void context_switch(Context& from, Context& to) { senet_emu_switch(&from.sp, to.sp); }
#endif
}  // namespace emu::detail
