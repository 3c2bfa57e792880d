// engine/cpu/bn_act_simd.h — per-ISA tables of the vectorised BN/activation passes
// (engine/cpu/bn_act_kernels.h). batchnorm.cpp and activation.cpp keep the threading and call these
// per chunk when cpu_isa() has a table, else their scalar loops (the oracle).
#pragma once
#include <cstdint>

#include "engine/cpu/batchnorm.h"
#include "engine/cpu/cpu_isa.h"

namespace senet::cpu {

struct BnActKernels {
  // act: p.act (Act::MaskedReLU reads p.mask); residual may be null.
  void (*bn_act_forward_chunk)(const BnAct& p, Act act, const float* y, const float* residual,
                               float* a, uint64_t* bits, int64_t b, int64_t e);
  void (*bn_act_grad_reduce_channel)(const BnAct& p, const float* da, const uint64_t* bits,
                                     const float* y, int64_t c, double* sdz, double* sdzy);
  void (*bn_act_grad_row)(const float* da, const uint64_t* bits, int64_t i0, const float* y,
                          int64_t len, float mean, float invstd, float s, float mdb, float mdg,
                          float* dy, float* dz_out);
  void (*masked_relu_chunk)(const float* x, const uint8_t* mask, int64_t L, int64_t b, int64_t e,
                            float* y, uint64_t* bits);
  void (*masked_relu_backward_chunk)(const float* dy, const uint64_t* bits, int64_t b, int64_t e,
                                     float* dx);
  MeanM2 (*segment_mean_m2)(const float* y, int64_t n);
};
const BnActKernels& bn_act_avx512();
const BnActKernels& bn_act_avx2();
// The table for `isa` (nullptr for Generic: use the scalar loops).
const BnActKernels* bn_act_kernels(CpuIsa isa = cpu_isa());

}  // namespace senet::cpu
