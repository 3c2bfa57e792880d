// kernels/implicit_gemm.cuh — the one include of the conv kernels' main loops: every tile kind, and
// tile_thread<T> / tile_mainloop<T>, so that a kernel (conv2d_fprop, dgrad, wgrad, the fused
// conv→BN epilogues) is written once and instantiated for each. Device code only.
//   gemm_tile  (implicit_gemm_tile.cuh)  v2/v3: 16×16 and 64×64 tiles, the dividing gathers
//   simt_tile  (implicit_gemm_simt.cuh)  128×128, 8×8 per thread, LDS.128, two stages, FP32
//   mma_tile   (implicit_gemm_mma.cuh)   TF32 tensor cores (mma.m16n8k8), two stages
//   wgmma_tile (implicit_gemm_wgmma.cuh) TF32 on Hopper's warpgroup MMA (sm_90a), two stages
// The last three take a hoisting gather (kernels/conv_gather_fast.cuh; T::hoisted).
// A thread's accumulators acc[i][j] sit at rows th.row(i), columns th.col(j) of the tile (+ m0,
// n0), th = tile_thread<T>(tid); th.tm < T::TY is its row slot: the threads of one slot own
// disjoint columns, and each row of the tile belongs to one slot.
#pragma once
#include <type_traits>

#include "kernels/conv_gather_fast.cuh"
#include "kernels/implicit_gemm_mma.cuh"
#include "kernels/implicit_gemm_simt.cuh"
#include "kernels/implicit_gemm_tile.cuh"
#include "kernels/implicit_gemm_wgmma.cuh"

namespace senet::detail {

template <class T>
using tile_thread =
    std::conditional_t<T::tensor_core, mma_thread<T>,
                       std::conditional_t<T::hoisted, simt_thread<T>, gemm_thread<T>>>;

// The blocks of tile T that must fit on one SM at once, for __launch_bounds__(T::threads,
// min_blocks<T>()): 2 for the fast tiles (256 threads: ≤ 128 registers a thread, two blocks'
// warps to hide each other's waits at __syncthreads), 1 (no cap) for the others.
template <class T>
constexpr int min_blocks() {
  if constexpr (requires { T::min_blocks; })
    return T::min_blocks;
  else
    return 1;
}

template <class T, class G>
__device__ __forceinline__ void tile_mainloop(int tid, int m0, int n0, int M, int Nn, int k_begin,
                                              int k_end, const G& g, float* As, float* Bs,
                                              float (&acc)[T::TM][T::TN]) {
  if constexpr (requires { requires T::wgmma; })
    implicit_gemm_mainloop_wgmma<T>(tid, m0, n0, M, Nn, k_begin, k_end, g, As, Bs, acc);
  else if constexpr (T::tensor_core)
    implicit_gemm_mainloop_mma<T>(tid, m0, n0, M, Nn, k_begin, k_end, g, As, Bs, acc);
  else if constexpr (T::hoisted)
    implicit_gemm_mainloop_simt<T>(tid, m0, n0, M, Nn, k_begin, k_end, g, As, Bs, acc);
  else
    implicit_gemm_mainloop<T>(tid, m0, n0, M, Nn, k_begin, k_end, g, As, Bs, acc);
}

// The epilogue of the plain conv kernels (fprop, dgrad and their split-K slices, the prologue conv
// of kernels/conv2d_fprop_act.cu): the block's accumulators into out, an NCHW-like tensor whose
// GEMM row m is (image, position) and column c a channel of `cols` over HW positions, + bias[c]
// when bias is given, then + residual at the same index when residual is given; rows ≥ M and
// columns ≥ cols (the ragged tile edges) are not written.
template <class T>
__device__ __forceinline__ void store_tile_nchw(int tid, int m0, int n0, int M, int cols, int HW,
                                                const float (&acc)[T::TM][T::TN],
                                                float* __restrict__ out,
                                                const float* __restrict__ bias = nullptr,
                                                const float* __restrict__ residual = nullptr) {
  const tile_thread<T> th(tid);
#pragma unroll
  for (int i = 0; i < T::TM; ++i) {
    const int m = m0 + th.row(i);
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < T::TN; ++j) {
      const int c = n0 + th.col(j);
      if (c >= cols) continue;
      const int64_t o = nkpq_index(m, c, cols, HW);
      float v = bias ? acc[i][j] + bias[c] : acc[i][j];
      if (residual) v += residual[o];
      out[o] = v;
    }
  }
}

// fprop's gather for tile T (conv2d_fprop and the fused conv→BN kernels), built on the host: the
// dividing one for v2/v3, the hoisting one for the others.
template <class T>
auto fprop_gather(const Conv2dGeom& p, const float* x, const float* w) {
  if constexpr (T::hoisted)
    return conv2d_fprop_gather_fast::make(p, x, w);
  else
    return conv2d_fprop_gather{x,   w,        p.C,   p.H, p.W, p.R,
                               p.S, p.stride, p.pad, p.P, p.Q, int(p.gemm_k())};
}
// Whether a TF32 fprop or dgrad takes tile_tf32_128x128 instead of tile_tf32_128x64: when its
// GEMM N (fprop's K, dgrad's C) is at least the wide tile's 128 columns and its reduction is
// tap-major (the channel count it runs over, fprop's C or dgrad's K, a multiple of BK = 16) — every
// ResNet/WRN layer of 128 channels or more. Other layers keep the 128×64 tile (and only the
// tap-major gathers are built for the wide one).
inline bool tf32_wide(int64_t gemm_n, int tap_channels) {
  return gemm_n >= tile_tf32_128x128::BN && tap_channels % tile_tf32_128x128::BK == 0;
}

// run.template operator()<T>() with the wgmma tile T of a conv (fprop v7, dgrad v6, the fused
// conv→BN on wgmma) whose GEMM has N = gemm_n columns (fprop's K, dgrad's C): 128×128 when it has
// at least those 128 columns, else 128×64. Both tiles are built; one runs.
template <class Run>
auto with_wgmma_tile(int64_t gemm_n, Run&& run) {
  return gemm_n >= tile_wgmma_128x128::BN ? run.template operator()<tile_wgmma_128x128>()
                                          : run.template operator()<tile_wgmma_128x64>();
}

// run(g) with fprop's gather for tile T: for the hoisting tiles the tap-major one
// (conv_gather_fast.cuh) when C is a multiple of BK, else fprop_gather<T>. Two kernels per launch
// site, one taken.
template <class T, class Run>
auto with_fprop_gather(const Conv2dGeom& p, const float* x, const float* w, Run&& run) {
  if constexpr (T::hoisted)
    if (p.C % T::BK == 0) return run(conv2d_fprop_gather_tap::make(p, x, w));
  return run(fprop_gather<T>(p, x, w));
}

}  // namespace senet::detail
