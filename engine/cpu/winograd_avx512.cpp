// engine/cpu/winograd_avx512.cpp — F(2×2, 3×3) built for AVX-512: 16-lane zmm vectors, or 8-lane ymm ones (32 registers under AVX-512VL) when both channel counts are ≤ 8.
// This file alone gets the ISA's -m flags (engine/CMakeLists.txt).
#include "engine/cpu/avx512_build.h"  // SENET_NO_AVX512 (engine/CMakeLists.txt)
#if !SENET_NO_AVX512
#define SENET_SIMD_NS avx512
#include "engine/cpu/winograd_kernels.h"

namespace senet::cpu {
namespace {
using avx512::F32x16;
using avx512::F32x8;

void fprop(const Conv2dGeom& g, const float* x, const float* w, float* y,
           const ConvRowsHook& hook) {
  if (g.C <= 8 && g.K <= 8)
    avx512::wino_fprop<F32x8>(g, x, w, y, hook);
  else
    avx512::wino_fprop<F32x16>(g, x, w, y, hook);
}

void bprop(const Conv2dGeom& g, const float* x, const float* w, const ConvDyFill& f, float* dx,
           float* dw) {
  if (g.C <= 8 && g.K <= 8)
    avx512::wino_bprop<F32x8>(g, x, w, f, dx, dw);
  else
    avx512::wino_bprop<F32x16>(g, x, w, f, dx, dw);
}
}  // namespace

const WinogradKernels& winograd_avx512() {
  static const WinogradKernels k{&fprop, &bprop};
  return k;
}

}  // namespace senet::cpu
#endif  // !SENET_NO_AVX512
