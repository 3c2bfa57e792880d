// tools/out_of_memory.cpp — replacement global operator new/delete for the `senet` binary: plain
// malloc/free, except that a failed request records its size before std::bad_alloc is thrown (see
// out_of_memory.h). The full set (throwing, nothrow, array, sized delete) is replaced so every
// new/delete pair goes through malloc/free. Left out under AddressSanitizer, which has its own.
#include "tools/out_of_memory.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace senet::cli {
static std::atomic<size_t> g_failed{0};
size_t last_failed_allocation() { return g_failed.load(); }
}  // namespace senet::cli

#if !defined(__SANITIZE_ADDRESS__)

static void* allocate(std::size_t n) {
  if (n == 0) n = 1;
  for (;;) {
    if (void* p = std::malloc(n)) return p;
    std::new_handler handler = std::get_new_handler();
    if (!handler) {
      senet::cli::g_failed.store(n);
      throw std::bad_alloc();
    }
    handler();
  }
}

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

#endif
