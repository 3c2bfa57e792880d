// kernels/split_k_sum.cu — see split_k_sum.h.
#include "kernels/split_k_sum.h"

#include "kernels/emu/cuda_compat.h"

namespace senet {

__global__ void split_k_sum_kernel(split_k_sum_params p) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= p.n) return;
  float acc = 0.0f;
  for (int z = 0; z < p.splits; ++z) acc += p.workspace[int64_t(z) * p.n + i];
  if (p.bias) acc += p.bias[i / p.hw % p.channels];
  p.out[i] = p.residual ? acc + p.residual[i] : acc;
}

cudaError_t split_k_sum(const split_k_sum_params& p, cudaStream_t stream) {
  if (!p.workspace || !p.out || p.splits < 1 || p.n < 0 || p.hw < 1 || p.channels < 1 ||
      (p.n + 255) / 256 > 0x7fffffff)
    return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  return launch(split_k_sum_kernel, dim3(unsigned((p.n + 255) / 256)), dim3(256), 0, stream, p);
}

}  // namespace senet
