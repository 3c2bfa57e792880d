// engine/cpu/bn_act_avx2.cpp — the BN/activation passes built for AVX2 + FMA (8-lane ymm); this file
// alone is compiled with -mavx2 -mfma -mbmi2 (engine/CMakeLists.txt).
#define SENET_SIMD_NS avx2
#include "engine/cpu/bn_act_kernels.h"
#include "engine/cpu/bn_act_simd.h"

namespace senet::cpu {
namespace {
using V = avx2::F32x8;

// kAct of bn_act_kernels.h is the Act's value (0 None, 1 ReLU, 2 MaskedReLU).
template <int kAct>
void forward_act(const BnAct& p, const float* y, const float* r, float* a, uint64_t* bits, int64_t b,
                 int64_t e) {
  r ? avx2::bn_act_forward_chunk<V, kAct, true>(p, y, r, a, bits, b, e)
    : avx2::bn_act_forward_chunk<V, kAct, false>(p, y, r, a, bits, b, e);
}
void forward(const BnAct& p, Act act, const float* y, const float* r, float* a, uint64_t* bits, int64_t b,
             int64_t e) {
  if (act == Act::None) forward_act<int(Act::None)>(p, y, r, a, bits, b, e);
  if (act == Act::ReLU) forward_act<int(Act::ReLU)>(p, y, r, a, bits, b, e);
  if (act == Act::MaskedReLU) forward_act<int(Act::MaskedReLU)>(p, y, r, a, bits, b, e);
}
}  // namespace

const BnActKernels& bn_act_avx2() {
  static const BnActKernels k{&forward,
                              &avx2::bn_act_grad_reduce_channel<V>,
                              &avx2::bn_act_grad_row<V>,
                              &avx2::masked_relu_chunk<V>,
                              &avx2::masked_relu_backward_chunk<V>,
                              &avx2::segment_mean_m2<V>};
  return k;
}

}  // namespace senet::cpu
