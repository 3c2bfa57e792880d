// kernels/split_k_plan.h — when and how a conv's implicit GEMM cuts its reduction axis over the
// grid's z (split-K: conv2d_fprop v6, v8, v9, conv2d_dgrad v7, v8, v9). Host code, no CUDA.
// Rule: a grid of ⌈GEMM_M/BM⌉ · ⌈GEMM_N/BN⌉ blocks below kSplitKFillBlocks (two waves of 132 SMs)
// would leave SMs idle, so GEMM_K is cut into
//   want  = min(⌈fill/blocks⌉, 16, max(⌊GEMM_K/64⌋, 1))          (slices of ≥ 64, at most 16)
//   slice = ⌈⌈GEMM_K/want⌉ / BK⌉ · BK,   splits = ⌈GEMM_K/slice⌉  (no slice empty, the last ragged)
// Slices start at multiples of BK, so a tap-major gather's slice stays inside one tap. Slice z's
// partial output goes to workspace[z]; a second kernel sums them in order z = 0, 1, …
// (deterministic: the same association on every run). splits = 1: the unsplit kernel, no workspace.
#pragma once
#include <algorithm>
#include <cstdint>

namespace senet {

inline constexpr int kSplitKFillBlocks = 264;  // two waves of 132 SMs (H100 SXM, H200)
inline constexpr int kSplitKMinSlice = 64, kSplitKMaxSplits = 16;

struct split_k_plan {
  int splits, slice;  // slice: GEMM_K columns per split, a multiple of BK; no slice is empty
};

inline split_k_plan plan_split_k(int64_t gemm_m, int64_t gemm_n, int64_t gemm_k, int BM, int BN,
                                 int BK) {
  const int64_t blocks = (gemm_m + BM - 1) / BM * ((gemm_n + BN - 1) / BN);
  if (blocks <= 0 || blocks >= kSplitKFillBlocks) return {1, int(gemm_k)};
  int64_t want = (kSplitKFillBlocks + blocks - 1) / blocks;
  want =
      std::min<int64_t>({want, kSplitKMaxSplits, std::max<int64_t>(gemm_k / kSplitKMinSlice, 1)});
  const int64_t slice = ((gemm_k + want - 1) / want + BK - 1) / BK * BK;
  return {int((gemm_k + slice - 1) / slice), int(slice)};
}

}  // namespace senet
