// engine/cpu/direct_conv_avx2_tiles12.cpp — the gather-tile (fprop/dgrad) microkernels of width S = 1 and 2 of the avx2
// build, instantiated in their own translation unit so that the build compiles them in parallel
// with the rest (direct_conv_avx2.cpp declares them extern). Same -m flags as direct_conv_avx2.cpp.
#define SENET_SIMD_NS avx2
#include "engine/cpu/direct_conv_kernels.h"

namespace senet::cpu::avx2 {
template TileFn tile_fn_s<F32x8, 1>(int, int, int, int, int, int*);
template TileFn tile_fn_s<F32x8, 2>(int, int, int, int, int, int*);
}  // namespace senet::cpu::avx2
