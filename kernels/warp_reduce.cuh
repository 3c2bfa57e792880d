// kernels/warp_reduce.cuh — warp- and block-wide sums/max for the reduction kernels outside the
// conv/BN family (reduce.cu, softmax_xent.cu, kd_loss.cu, pram_loss.cu, global_avg_pool.cu,
// mask_search.cu), and the strided warp sum of the fused conv→BN epilogue (conv_bn_mrelu_fwd.cu).
// (kernels/block_reduce.cuh is the BN family's float block sum.)
// Rule: header-only, every function a __forceinline__ template (no non-inline __device__ code in a
// header); helpers take lane / warp ids as arguments instead of reading threadIdx themselves.
// The order of combination is fixed (butterfly over lanes, then warps 0..W-1 in order), so a
// reduction is bitwise reproducible for a launch configuration, whatever the thread schedule.
//   warp_sum(v), warp_max(v)                    every lane gets the result (all 32 lanes call)
//   warp_sum_strided<S>(v)                      Σ over the lanes ≡ this one mod S (S a power of 2)
//   block_sum(v, lane, warp, nwarps, scratch)   every thread gets Σ over the block;
//       scratch: __shared__ T[32]; two __syncthreads (every thread of the block must call)
#pragma once
#include "kernels/emu/cuda_compat.h"

namespace senet::kred {

constexpr unsigned kFullMask = 0xffffffffu;

// Σ over the 32/S lanes that agree on lane mod S (S = 1: the whole warp): the butterfly over the
// lane bits ≥ S; every lane gets its group's sum.
template <int S, class T>
__device__ __forceinline__ T warp_sum_strided(T v) {
  static_assert(S >= 1 && S <= 16 && (S & (S - 1)) == 0, "a power of 2 below the warp size");
#pragma unroll
  for (int d = 16; d >= S; d /= 2) v += __shfl_xor_sync(kFullMask, v, d);
  return v;
}
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  return warp_sum_strided<1>(v);
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int d = 16; d > 0; d /= 2) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, d));
  return v;
}

// Σ over the block, returned to every thread. The block size must be a multiple of 32.
template <class T>
__device__ __forceinline__ T block_sum(T v, int lane, int warp, int nwarps, T* scratch) {
  v = warp_sum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T total = T(0);
  for (int w = 0; w < nwarps; ++w) total += scratch[w];  // same order in every thread
  __syncthreads();                                       // scratch may be reused right after
  return total;
}

}  // namespace senet::kred
