// engine/cpu/bn_act_simd.cpp — which vector table the BN/activation passes use.
#include "engine/cpu/bn_act_simd.h"

namespace senet::cpu {

const BnActKernels* bn_act_kernels(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512: return &bn_act_avx512();
    case CpuIsa::Avx2: return &bn_act_avx2();
    case CpuIsa::Generic: return nullptr;
  }
  return nullptr;
}

}  // namespace senet::cpu
