// tests/cpu/test_cpu_isa.cpp — the run-time ISA choice (engine/cpu/cpu_isa.h): an ISA is offered
// only where the CPU has it and the build has its kernels. A build without the AVX-512 kernels
// (cmake -DSENET_CPU_AVX512=OFF: the sanitizer pass and the main job's build on a CPU without
// AVX-512) never picks them, and asking for them says which of the two is missing.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "engine/cpu/cpu_isa.h"

using namespace senet;

TEST(CpuIsa, Avx512OnlyWhereBuiltAndSupported) {
  const cpu::CpuFeatures& f = cpu::cpu_features();
  const bool cpu_has =
      f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma && f.bmi2 && f.os_zmm;
  EXPECT_EQ(cpu::cpu_supports(cpu::CpuIsa::Avx512), cpu::avx512_kernels_built() && cpu_has);
  EXPECT_EQ(cpu::best_cpu_isa() == cpu::CpuIsa::Avx512, cpu::avx512_kernels_built() && cpu_has);
  if (cpu::cpu_supports(cpu::CpuIsa::Avx512)) return;

  const cpu::CpuIsa before = cpu::cpu_isa();
  const std::string why =
      cpu::avx512_kernels_built() ? "this CPU does not support it" : "SENET_CPU_AVX512=OFF";
  try {
    cpu::set_cpu_isa(cpu::CpuIsa::Avx512);
    ADD_FAILURE() << "set_cpu_isa(avx512) was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
  EXPECT_EQ(cpu::cpu_isa(), before);  // a refused choice changes nothing
}

// The generic scalar loops run everywhere; AVX2 exactly where the CPU (and its OS) has it.
TEST(CpuIsa, GenericAlwaysAvx2WhereTheCpuHasIt) {
  const cpu::CpuFeatures& f = cpu::cpu_features();
  EXPECT_TRUE(cpu::cpu_supports(cpu::CpuIsa::Generic));
  EXPECT_EQ(cpu::cpu_supports(cpu::CpuIsa::Avx2), f.avx2 && f.fma && f.bmi2 && f.os_ymm);
}
