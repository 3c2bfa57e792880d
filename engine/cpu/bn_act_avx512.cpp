// engine/cpu/bn_act_avx512.cpp — the BN/activation passes built for AVX-512 (16-lane zmm); this file
// alone is compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mbmi2 (engine/CMakeLists.txt).
#include "engine/cpu/avx512_build.h"  // SENET_NO_AVX512 (engine/CMakeLists.txt)
#if !SENET_NO_AVX512
#define SENET_SIMD_NS avx512
#include "engine/cpu/bn_act_kernels.h"

namespace senet::cpu {

const BnActKernels& bn_act_avx512() {
  static const BnActKernels k = avx512::make_bn_act_kernels<avx512::F32x16>();
  return k;
}

}  // namespace senet::cpu
#endif  // !SENET_NO_AVX512
