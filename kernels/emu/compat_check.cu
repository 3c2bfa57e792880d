// kernels/emu/compat_check.cu — compiles the compat header's kernel-side API in both modes.
// Rule: one tiny kernel that touches the pieces every kernel file relies on (dynamic shared
// memory, barrier, warp shuffle, senet::launch), so the nvcc build of kernels/ always has a source
// and a broken compat header fails at build time, in both libraries.
#include "kernels/emu/cuda_compat.h"

namespace senet::emu_check {
__global__ void block_sum(const float* __restrict__ x, float* __restrict__ out, int n) {
  SENET_DYNAMIC_SHARED(float, partial);
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  float v = i < n ? x[i] : 0.0f;
  for (int d = 16; d > 0; d /= 2) v += __shfl_down_sync(0xffffffffu, v, d);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    float s = 0;
    for (unsigned w = 0; w < blockDim.x / 32; ++w) s += partial[w];
    atomicAdd(out, s);
  }
}

// Sums x[0..n) into *out (which must be zeroed); blocks of 256 threads.
cudaError_t block_sum_launch(const float* x, float* out, int n, cudaStream_t stream) {
  if (n <= 0) return cudaErrorInvalidValue;
  return launch(block_sum, dim3((n + 255) / 256), dim3(256), 8 * sizeof(float), stream, x, out, n);
}
}  // namespace senet::emu_check
