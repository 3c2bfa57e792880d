// kernels/block_reduce.cuh — a deterministic block-wide float sum for the BN reductions. Device
// code only, included by kernels/*.cu.
// Rule: warp sums by __shfl_xor_sync butterfly, lane 0 of each warp stores its warp's sum, then
// every thread adds the warp sums in warp order: every thread returns the same bits, and the result
// does not depend on the thread schedule. blockDim.x must be a multiple of 32 (≤ 1024) and every
// thread of the block must call it (it has barriers). scratch: 32 floats of shared memory.
#pragma once
#include "kernels/emu/cuda_compat.h"

namespace senet::detail {

__device__ __forceinline__ float block_sum(float v, float* scratch, int tid, int nthreads) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if ((tid & 31) == 0) scratch[tid >> 5] = v;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < (nthreads >> 5); ++w) total += scratch[w];
  __syncthreads();  // scratch may be reused by the next call
  return total;
}

}  // namespace senet::detail
