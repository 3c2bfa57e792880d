// engine/cpu/avx512_absent.cpp — the AVX-512 kernels' entry points in a build without them
// (cmake -DSENET_CPU_AVX512=OFF, engine/CMakeLists.txt): cpu_supports(CpuIsa::Avx512) is false
// there, so no dispatch reaches these; reaching one anyway is a bug, reported as such. Empty in a
// normal build, where the *_avx512*.cpp files define them.
#include "engine/cpu/avx512_build.h"  // SENET_NO_AVX512 (engine/CMakeLists.txt)
#if SENET_NO_AVX512
#include "engine/core/error.h"
#include "engine/cpu/bn_act_simd.h"
#include "engine/cpu/direct_conv.h"
#include "engine/cpu/winograd.h"

namespace senet::cpu {

namespace {
[[noreturn]] void absent(const char* what) {
  fail(what,
       ": this build has no AVX-512 kernels (SENET_CPU_AVX512=OFF), and the dispatch should "
       "not have picked them");
}
}  // namespace

const DirectConvKernels& direct_conv_avx512() { absent("direct_conv_avx512"); }
const BnActKernels& bn_act_avx512() { absent("bn_act_avx512"); }
const WinogradKernels& winograd_avx512() { absent("winograd_avx512"); }

}  // namespace senet::cpu
#endif
