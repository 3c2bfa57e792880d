// engine/cpu/direct_conv_avx2.cpp — the direct conv kernels built for AVX2 + FMA (this file alone is
// compiled with -mavx2 -mfma -mbmi2; see engine/CMakeLists.txt): 8-lane ymm vectors, 16 registers.
#define SENET_SIMD_NS avx2
#include "engine/cpu/direct_conv_kernels.h"

namespace senet::cpu::avx2 {  // instantiated in direct_conv_avx2_tiles{3,12}.cpp / _wgrad.cpp
extern template TileFn tile_fn_s<F32x8, 1>(int, int, int, int, int, int*);
extern template TileFn tile_fn_s<F32x8, 2>(int, int, int, int, int, int*);
extern template TileFn tile_fn_s<F32x8, 3>(int, int, int, int, int, int*);
extern template WgradFn wgrad_fn<F32x8>(int, int, int, int);
}  // namespace senet::cpu::avx2

namespace senet::cpu {
namespace {
using avx2::F32x8;

void fprop(const Conv2dGeom& g, const float* x, const float* w, float* y, const ConvRowsHook& hook,
           const ConvInputMap* m) {
  avx2::fprop<F32x8>(g, x, w, y, hook, m);
}

void bprop(const Conv2dGeom& g, const float* x, const float* w, const ConvDyFill& f, float* dx,
           float* dw, const ConvInputMap* m) {
  avx2::bprop<F32x8, F32x8>(g, x, w, f, dx, dw, m);
}
}  // namespace

const DirectConvKernels& direct_conv_avx2() {
  static const DirectConvKernels k{&fprop, &bprop};
  return k;
}

}  // namespace senet::cpu
