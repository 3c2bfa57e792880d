// engine/cpu/bn_act_avx512.cpp — the BN/activation passes built for AVX-512 (16-lane zmm); this file
// alone is compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mbmi2 (engine/CMakeLists.txt).
#define SENET_SIMD_NS avx512
#include "engine/cpu/bn_act_kernels.h"
#include "engine/cpu/bn_act_simd.h"

namespace senet::cpu {
namespace {
using V = avx512::F32x16;

// kAct of bn_act_kernels.h is the Act's value (0 None, 1 ReLU, 2 MaskedReLU).
template <int kAct>
void forward_act(const BnAct& p, const float* y, const float* r, float* a, uint64_t* bits, int64_t b,
                 int64_t e) {
  r ? avx512::bn_act_forward_chunk<V, kAct, true>(p, y, r, a, bits, b, e)
    : avx512::bn_act_forward_chunk<V, kAct, false>(p, y, r, a, bits, b, e);
}
void forward(const BnAct& p, Act act, const float* y, const float* r, float* a, uint64_t* bits, int64_t b,
             int64_t e) {
  if (act == Act::None) forward_act<int(Act::None)>(p, y, r, a, bits, b, e);
  if (act == Act::ReLU) forward_act<int(Act::ReLU)>(p, y, r, a, bits, b, e);
  if (act == Act::MaskedReLU) forward_act<int(Act::MaskedReLU)>(p, y, r, a, bits, b, e);
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
