// engine/cpu/cpu_isa.h — which vector instruction set the CPU kernels use, chosen at run time.
// The engine is compiled for plain x86-64; the hot kernels (direct convolutions, the BN/activation
// passes) are compiled once per ISA in their own translation units (*_avx512.cpp with AVX-512F/BW/
// VL/DQ + FMA, *_avx2.cpp with AVX2 + FMA) and picked here by CPUID, so one binary runs at full speed
// on an AVX-512 Xeon or Zen 4/5 and still runs on an AVX2-only machine. Generic = no vector kernels:
// the portable C++ paths (im2col + OpenBLAS convolution, scalar loops), which are also the oracle.
//   SENET_CPU_ISA=avx512|avx2|generic caps the choice (e.g. to run the AVX2 kernels on an AVX-512
//   machine); asking for an ISA the CPU lacks is an error. A build with -DSENET_CPU_AVX512=OFF has
//   no AVX-512 kernels: there cpu_supports(Avx512) is false whatever the CPU.
#pragma once
#include <string>

namespace senet::cpu {

enum class CpuIsa { Generic = 0, Avx2 = 1, Avx512 = 2 };

struct CpuFeatures {
  bool avx2 = false, fma = false, bmi2 = false, avx512f = false, avx512bw = false, avx512vl = false,
       avx512dq = false, os_zmm = false, os_ymm = false;
  std::string names() const;  // "avx2 fma avx512f ..." (what the CPU and OS both support)
};
const CpuFeatures& cpu_features();  // CPUID + XGETBV, read once

// The best ISA this CPU supports (ignores SENET_CPU_ISA).
CpuIsa best_cpu_isa();
// The ISA the kernels use now: best_cpu_isa(), capped by SENET_CPU_ISA, or what set_cpu_isa chose.
CpuIsa cpu_isa();
// For tests and benchmarks: use `isa` from now on (an error if the CPU lacks it).
void set_cpu_isa(CpuIsa isa);
bool cpu_supports(CpuIsa isa);
const char* isa_name(CpuIsa isa);  // "avx512", "avx2", "generic"
// Whether this build has the AVX-512 kernels (cmake -DSENET_CPU_AVX512=OFF leaves them out).
bool avx512_kernels_built();

}  // namespace senet::cpu
