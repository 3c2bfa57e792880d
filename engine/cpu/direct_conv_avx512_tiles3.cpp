// engine/cpu/direct_conv_avx512_tiles3.cpp — the gather-tile (fprop/dgrad) microkernels of width S = 3 of the avx512
// build, instantiated in their own translation unit so that the build compiles them in parallel
// with the rest (direct_conv_avx512.cpp declares them extern). Same -m flags as direct_conv_avx512.cpp.
#include "engine/cpu/avx512_build.h"  // SENET_NO_AVX512 (engine/CMakeLists.txt)
#if !SENET_NO_AVX512
#define SENET_SIMD_NS avx512
#include "engine/cpu/direct_conv_kernels.h"

namespace senet::cpu::avx512 {
template TileFn tile_fn_s<F32x16, 3>(int, int, int, int, int, int*);
template TileFn tile_fn_s<F32x8, 3>(int, int, int, int, int, int*);
}  // namespace senet::cpu::avx512
#endif  // !SENET_NO_AVX512
