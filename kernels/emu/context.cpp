// kernels/emu/context.cpp — the context switch (see context.h): x86-64 assembly or ucontext.
// Rule: a new context starts in a trampoline that moves the arg (kept in r13) into rdi and calls
// the entry (kept in r12) with a 16-byte aligned stack, as the ABI requires at a call.
#include "kernels/emu/context.h"

#include <cstdint>
#include <cstdlib>

#if SENET_EMU_ASAN
#include <sanitizer/common_interface_defs.h>

// ASan: every switch is bracketed by __sanitizer_start_switch_fiber (bounds of the stack to run
// next) and __sanitizer_finish_switch_fiber (run first on arrival, also in a fiber's first frame).
// finish reports the bounds of the stack just left, which is how the OS thread's own stack (the
// scheduler context, never made by context_make) gets its bounds before anything switches back.
namespace emu::detail {
namespace {
thread_local Context* t_switch_from = nullptr;  // who switched last on this OS thread

void arrived(void* fake_stack) {
  const void* lo = nullptr;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(fake_stack, &lo, &size);
  if (Context* from = t_switch_from) {
    from->stack_lo = lo;
    from->stack_size = size;
  }
}

void asan_entry(void* context) {  // a new fiber starts here, then calls the real entry
  auto* c = static_cast<Context*>(context);
  arrived(nullptr);
  c->entry(c->arg);
  std::abort();  // entry never returns
}
}  // namespace
}  // namespace emu::detail
#endif

#if !defined(SENET_EMU_UCONTEXT)
extern "C" void senet_emu_trampoline();
asm(R"(
  .pushsection .text
  .globl senet_emu_switch
  .hidden senet_emu_switch
  .type senet_emu_switch, @function
senet_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  popq %rcx
  jmpq *%rcx
  .size senet_emu_switch, .-senet_emu_switch

  .globl senet_emu_trampoline
  .hidden senet_emu_trampoline
  .type senet_emu_trampoline, @function
senet_emu_trampoline:
  movq %r13, %rdi
  callq *%r12
  ud2
  .size senet_emu_trampoline, .-senet_emu_trampoline
  .popsection
)");

namespace emu::detail {
void context_make(Context& c, void* stack_lo, size_t stack_bytes, void (*entry)(void*), void* arg) {
#if SENET_EMU_ASAN
  c.stack_lo = stack_lo;
  c.stack_size = stack_bytes;
  c.entry = entry;
  c.arg = arg;
  entry = &asan_entry;
  arg = &c;
#endif
  auto top = (reinterpret_cast<uintptr_t>(stack_lo) + stack_bytes) & ~uintptr_t(15);
  auto* sp = reinterpret_cast<void**>(top - 16 - 7 * sizeof(void*));  // 16-aligned after 7 pops
  sp[0] = nullptr;                                                    // r15
  sp[1] = nullptr;                                                    // r14
  sp[2] = arg;                                                        // r13
  sp[3] = reinterpret_cast<void*>(entry);                             // r12
  sp[4] = nullptr;                                                    // rbx
  sp[5] = nullptr;                                                    // rbp: ends backtraces
  sp[6] = reinterpret_cast<void*>(&senet_emu_trampoline);             // "return" address
  c.sp = sp;
}

#if SENET_EMU_ASAN
// Out of line under ASan, and not instrumented itself: `fake_stack` must live on the real stack.
__attribute__((no_sanitize_address)) void context_switch(Context& from, Context& to) {
  void* fake_stack = nullptr;
  t_switch_from = &from;
  __sanitizer_start_switch_fiber(&fake_stack, to.stack_lo, to.stack_size);
  senet_emu_switch(&from.sp, to.sp);
  arrived(fake_stack);
}
#endif
}  // namespace emu::detail

#else
namespace emu::detail {
namespace {
void ucontext_entry(unsigned lo_entry, unsigned hi_entry, unsigned lo_arg, unsigned hi_arg) {
  auto entry = reinterpret_cast<void (*)(void*)>((uintptr_t(hi_entry) << 32) | lo_entry);
  entry(reinterpret_cast<void*>((uintptr_t(hi_arg) << 32) | lo_arg));
  std::abort();  // entry never returns
}
}  // namespace
void context_make(Context& c, void* stack_lo, size_t stack_bytes, void (*entry)(void*), void* arg) {
#if SENET_EMU_ASAN
  c.stack_lo = stack_lo;
  c.stack_size = stack_bytes;
  c.entry = entry;
  c.arg = arg;
  entry = &asan_entry;
  arg = &c;
#endif
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack_lo;
  c.uc.uc_stack.ss_size = stack_bytes;
  c.uc.uc_link = nullptr;
  auto e = reinterpret_cast<uintptr_t>(entry), a = reinterpret_cast<uintptr_t>(arg);
  makecontext(&c.uc, reinterpret_cast<void (*)()>(&ucontext_entry), 4, unsigned(e),
              unsigned(e >> 32), unsigned(a), unsigned(a >> 32));
}
#if SENET_EMU_ASAN
__attribute__((no_sanitize_address)) void context_switch(Context& from, Context& to) {
  void* fake_stack = nullptr;
  t_switch_from = &from;
  __sanitizer_start_switch_fiber(&fake_stack, to.stack_lo, to.stack_size);
  swapcontext(&from.uc, &to.uc);
  arrived(fake_stack);
}
#else
void context_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif
}  // namespace emu::detail
#endif
