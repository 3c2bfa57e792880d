// engine/cpu/bn_act_avx2.cpp — the BN/activation passes built for AVX2 + FMA (8-lane ymm); this file
// alone is compiled with -mavx2 -mfma -mbmi2 (engine/CMakeLists.txt).
#define SENET_SIMD_NS avx2
#include "engine/cpu/bn_act_kernels.h"

namespace senet::cpu {

const BnActKernels& bn_act_avx2() {
  static const BnActKernels k = avx2::make_bn_act_kernels<avx2::F32x8>();
  return k;
}

}  // namespace senet::cpu
