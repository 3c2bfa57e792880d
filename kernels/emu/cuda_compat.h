// kernels/emu/cuda_compat.h — the one header every kernels/*.cu file includes first.
// Rule: one source, two modes. Under nvcc (__CUDACC__) it is cuda_runtime.h plus two things: the
// SENET_DYNAMIC_SHARED macro and senet::launch (which expands to <<<>>>). Under g++ it is the CPU
// emulation: same names, run by fibers (see kernels/emu/README.md). Kernels may test
// SENET_CUDA_EMULATION, never __CUDA_ARCH__ for the emulated path (it is undefined there).
//   senet::launch(kernel, grid, block, smem_bytes, stream, args...) -> cudaError_t
//   SENET_DYNAMIC_SHARED(float, smem);   // inside a kernel: float* const smem
//   emu::is_emulated()                   // constexpr: true under the emulator
#pragma once

#if defined(__CUDACC__)
#include <cuda_runtime.h>

#include <utility>

#define SENET_CUDA_EMULATION 0
#define SENET_DYNAMIC_SHARED(T, name)                                  \
  extern __shared__ __align__(16) unsigned char senet_dynamic_smem_[]; \
  T* const name = reinterpret_cast<T*>(senet_dynamic_smem_)

namespace emu {
constexpr bool is_emulated() { return false; }
}  // namespace emu

namespace senet {
template <class... P, class... A>
cudaError_t launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem_bytes,
                   cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "senet::launch: wrong number of kernel arguments");
  kernel<<<grid, block, smem_bytes, stream>>>(std::forward<A>(args)...);
  return cudaGetLastError();
}
}  // namespace senet

#else
#define SENET_CUDA_EMULATION 1
#include "kernels/emu/emu_control.h"
#include "kernels/emu/emu_device.h"
#include "kernels/emu/emu_launch.h"
#include "kernels/emu/emu_math.h"
#include "kernels/emu/emu_runtime.h"
#endif
