// engine/cpu/direct_conv_avx512.cpp — the direct conv kernels built for AVX-512 (this file alone is
// compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mbmi2; see engine/CMakeLists.txt).
// 16-lane zmm vectors, or 8-lane ymm ones (32 of them under AVX-512VL) for layers with ≤ 8 channels.
#include "engine/cpu/avx512_build.h"  // SENET_NO_AVX512 (engine/CMakeLists.txt)
#if !SENET_NO_AVX512
#define SENET_SIMD_NS avx512
#include "engine/cpu/direct_conv_kernels.h"

namespace senet::cpu::avx512 {  // instantiated in direct_conv_avx512_tiles{3,12}.cpp / _wgrad.cpp
extern template TileFn tile_fn_s<F32x16, 1>(int, int, int, int, int, int*);
extern template TileFn tile_fn_s<F32x16, 2>(int, int, int, int, int, int*);
extern template TileFn tile_fn_s<F32x16, 3>(int, int, int, int, int, int*);
extern template TileFn tile_fn_s<F32x8, 1>(int, int, int, int, int, int*);
extern template TileFn tile_fn_s<F32x8, 2>(int, int, int, int, int, int*);
extern template TileFn tile_fn_s<F32x8, 3>(int, int, int, int, int, int*);
extern template WgradFn wgrad_fn<F32x16>(int, int, int, int);
extern template WgradFn wgrad_fn<F32x8>(int, int, int, int);
}  // namespace senet::cpu::avx512

namespace senet::cpu {
namespace {
using avx512::F32x16;
using avx512::F32x8;

void fprop(const Conv2dGeom& g, const float* x, const float* w, float* y, const ConvRowsHook& hook,
           const ConvInputMap* m) {
  if (g.K <= 8)
    avx512::fprop<F32x8>(g, x, w, y, hook, m);
  else
    avx512::fprop<F32x16>(g, x, w, y, hook, m);
}

void bprop(const Conv2dGeom& g, const float* x, const float* w, const ConvDyFill& f, float* dx,
           float* dw, const ConvInputMap* m) {
  const bool d8 = g.C <= 8, w8 = g.K <= 8;
  if (d8 && w8) avx512::bprop<F32x8, F32x8>(g, x, w, f, dx, dw, m);
  if (d8 && !w8) avx512::bprop<F32x8, F32x16>(g, x, w, f, dx, dw, m);
  if (!d8 && w8) avx512::bprop<F32x16, F32x8>(g, x, w, f, dx, dw, m);
  if (!d8 && !w8) avx512::bprop<F32x16, F32x16>(g, x, w, f, dx, dw, m);
}
}  // namespace

const DirectConvKernels& direct_conv_avx512() {
  static const DirectConvKernels k{&fprop, &bprop};
  return k;
}

}  // namespace senet::cpu
#endif  // !SENET_NO_AVX512
