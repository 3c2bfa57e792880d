// engine/cpu/winograd_avx2.cpp — F(2×2, 3×3) built for AVX2 + FMA: 8-lane ymm vectors, 16 registers.
// This file alone gets the ISA's -m flags (engine/CMakeLists.txt).
#define SENET_SIMD_NS avx2
#include "engine/cpu/winograd_kernels.h"

namespace senet::cpu {
namespace {
using avx2::F32x8;

void fprop(const Conv2dGeom& g, const float* x, const float* w, float* y,
           const ConvRowsHook& hook) {
  avx2::wino_fprop<F32x8>(g, x, w, y, hook);
}

void bprop(const Conv2dGeom& g, const float* x, const float* w, const ConvDyFill& f, float* dx,
           float* dw) {
  avx2::wino_bprop<F32x8>(g, x, w, f, dx, dw);
}
}  // namespace

const WinogradKernels& winograd_avx2() {
  static const WinogradKernels k{&fprop, &bprop};
  return k;
}

}  // namespace senet::cpu
