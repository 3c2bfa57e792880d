// engine/cpu/cpu_isa.cpp — CPUID/XGETBV feature bits and the run-time ISA choice.
#include "engine/cpu/cpu_isa.h"

#include <cpuid.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "engine/core/error.h"
#include "engine/cpu/avx512_build.h"  // SENET_NO_AVX512 (engine/CMakeLists.txt)

namespace senet::cpu {
namespace {

// Whether this build has the AVX-512 kernels (cmake -DSENET_CPU_AVX512=OFF leaves them out).
#if SENET_NO_AVX512
constexpr bool kAvx512Built = false;
#else
constexpr bool kAvx512Built = true;
#endif

CpuFeatures read_cpuid() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.fma = c & (1u << 12);
  const bool osxsave = c & (1u << 27);
  if (osxsave) {  // which register states the OS saves (XGETBV 0): YMM = bits 1,2; ZMM = 5,6,7
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    f.os_ymm = (lo & 0x6) == 0x6;
    f.os_zmm = (lo & 0xe6) == 0xe6;
  }
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = b & (1u << 5);
    f.bmi2 = b & (1u << 8);
    f.avx512f = b & (1u << 16);
    f.avx512dq = b & (1u << 17);
    f.avx512bw = b & (1u << 30);
    f.avx512vl = b & (1u << 31);
  }
  return f;
}

CpuIsa parse_isa(const char* s) {
  if (!std::strcmp(s, "avx512")) return CpuIsa::Avx512;
  if (!std::strcmp(s, "avx2")) return CpuIsa::Avx2;
  if (!std::strcmp(s, "generic")) return CpuIsa::Generic;
  fail("SENET_CPU_ISA: expected avx512, avx2 or generic, got '", s, "'");
}

// Why cpu_supports(isa) is false, for the errors below.
std::string unsupported_reason(CpuIsa isa) {
  if (isa == CpuIsa::Avx512 && !kAvx512Built)
    return "this build has no AVX-512 kernels (SENET_CPU_AVX512=OFF)";
  return "this CPU does not support it (it has: " + cpu_features().names() + ")";
}

CpuIsa initial_isa() {
  CpuIsa best = best_cpu_isa();
  const char* e = std::getenv("SENET_CPU_ISA");
  if (!e || !*e) return best;
  CpuIsa want = parse_isa(e);
  SENET_CHECK(cpu_supports(want), "SENET_CPU_ISA=", e, ": ", unsupported_reason(want));
  return want;
}

std::atomic<int> g_isa{-1};

}  // namespace

std::string CpuFeatures::names() const {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (on) s += std::string(s.empty() ? "" : " ") + name;
  };
  add(avx2 && os_ymm, "avx2");
  add(fma, "fma");
  add(bmi2, "bmi2");
  add(avx512f && os_zmm, "avx512f");
  add(avx512bw && os_zmm, "avx512bw");
  add(avx512vl && os_zmm, "avx512vl");
  add(avx512dq && os_zmm, "avx512dq");
  return s;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = read_cpuid();
  return f;
}

bool avx512_kernels_built() { return kAvx512Built; }

bool cpu_supports(CpuIsa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case CpuIsa::Generic: return true;
    case CpuIsa::Avx2: return f.avx2 && f.fma && f.bmi2 && f.os_ymm;
    case CpuIsa::Avx512:
      if (!kAvx512Built) return false;
      return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma && f.bmi2 && f.os_zmm;
  }
  return false;
}

CpuIsa best_cpu_isa() {
  if (cpu_supports(CpuIsa::Avx512)) return CpuIsa::Avx512;
  if (cpu_supports(CpuIsa::Avx2)) return CpuIsa::Avx2;
  return CpuIsa::Generic;
}

CpuIsa cpu_isa() {
  int v = g_isa.load(std::memory_order_relaxed);
  if (v < 0) {
    v = int(initial_isa());
    g_isa.store(v, std::memory_order_relaxed);
  }
  return CpuIsa(v);
}

void set_cpu_isa(CpuIsa isa) {
  SENET_CHECK(cpu_supports(isa), "set_cpu_isa(", isa_name(isa), "): ", unsupported_reason(isa));
  g_isa.store(int(isa), std::memory_order_relaxed);
}

const char* isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512: return "avx512";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Generic: return "generic";
  }
  return "?";
}

}  // namespace senet::cpu
