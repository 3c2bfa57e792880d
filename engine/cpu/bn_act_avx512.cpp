// engine/cpu/bn_act_avx512.cpp — the BN/activation passes built for AVX-512 (16-lane zmm); this file
// alone is compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mbmi2 (engine/CMakeLists.txt).
#define SENET_SIMD_NS avx512
#include "engine/cpu/bn_act_kernels.h"
#include "engine/cpu/bn_act_simd.h"

namespace senet::cpu {
namespace {
using V = avx512::F32x16;

void forward(const BnAct& p, int act, const float* y, const float* r, float* a, uint64_t* bits, int64_t b,
             int64_t e) {
  if (act == 0) r ? avx512::bn_act_forward_chunk<V, 0, true>(p, y, r, a, bits, b, e)
                  : avx512::bn_act_forward_chunk<V, 0, false>(p, y, r, a, bits, b, e);
  if (act == 1) r ? avx512::bn_act_forward_chunk<V, 1, true>(p, y, r, a, bits, b, e)
                  : avx512::bn_act_forward_chunk<V, 1, false>(p, y, r, a, bits, b, e);
  if (act == 2) r ? avx512::bn_act_forward_chunk<V, 2, true>(p, y, r, a, bits, b, e)
                  : avx512::bn_act_forward_chunk<V, 2, false>(p, y, r, a, bits, b, e);
}
}  // namespace

const BnActKernels& bn_act_avx512() {
  static const BnActKernels k{&forward,
                              &avx512::bn_act_grad_reduce_channel<V>,
                              &avx512::bn_act_grad_row<V>,
                              &avx512::masked_relu_chunk<V>,
                              &avx512::masked_relu_backward_chunk<V>,
                              &avx512::segment_mean_m2<V>};
  return k;
}

}  // namespace senet::cpu
