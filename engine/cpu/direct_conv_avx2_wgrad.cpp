// engine/cpu/direct_conv_avx2_wgrad.cpp — the wgrad microkernels of the avx2 build, instantiated in
// their own translation unit so that the build compiles them in parallel with the drivers
// (direct_conv_avx2.cpp declares them extern). Same -m flags as direct_conv_avx2.cpp.
#define SENET_SIMD_NS avx2
#include "engine/cpu/direct_conv_kernels.h"

namespace senet::cpu::avx2 {
template WgradFn wgrad_fn<F32x8>(int, int, int, int);
}  // namespace senet::cpu::avx2
