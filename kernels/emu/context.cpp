// kernels/emu/context.cpp — the context switch (see context.h): x86-64 assembly or ucontext.
// Rule: a new context starts in a trampoline that moves the arg (kept in r13) into rdi and calls
// the entry (kept in r12) with a 16-byte aligned stack, as the ABI requires at a call.
#include "kernels/emu/context.h"

#include <cstdint>
#include <cstdlib>

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
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack_lo;
  c.uc.uc_stack.ss_size = stack_bytes;
  c.uc.uc_link = nullptr;
  auto e = reinterpret_cast<uintptr_t>(entry), a = reinterpret_cast<uintptr_t>(arg);
  makecontext(&c.uc, reinterpret_cast<void (*)()>(&ucontext_entry), 4, unsigned(e),
              unsigned(e >> 32), unsigned(a), unsigned(a >> 32));
}
void context_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
}  // namespace emu::detail
#endif
