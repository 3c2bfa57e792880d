// kernels/mask_search.h — SENet stage 2 on the GPU: accumulate |A_T − A_S|, channel scores, and
// the exact top-k mask (see mask_search.cu).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/emu/host_runtime.h"

namespace senet {

// D[l] += Σ_b |a_t[b,l] − a_s[b,l]|   (a: B×L, D: L = C·H·W of one site; fp32 sum in b order)
struct mask_accumulate_params {
  const float* a_t = nullptr;
  const float* a_s = nullptr;
  float* D = nullptr;
  int64_t B = 0, L = 0;
};
cudaError_t mask_accumulate_absdiff_launch(mask_accumulate_params p, cudaStream_t stream);

// scores[c] = Σ_hw D[c,hw]   (channel-wise granularity; fixed-order block sum)
struct channel_scores_params {
  const float* D = nullptr;
  float* scores = nullptr;
  int64_t C = 0, HW = 0;
};
cudaError_t channel_scores_launch(channel_scores_params p, cudaStream_t stream);

// mask[i] = 1 for exactly k indices: the k largest scores, ties (equal values) broken toward the
// lower index; every other mask byte 0. Total order used: NaN < −inf < ... < −0 = +0 < ... < +inf.
// With magnitude: the k largest |scores| (a learned site's top-k, kernels/straight_through.h).
// 0 ≤ k ≤ n ≤ 2³¹−1. workspace: topk_mask_workspace_bytes(n) bytes of device memory (256-aligned).
// Deterministic by construction (integer counts only).
struct topk_mask_params {
  const float* scores = nullptr;
  int64_t n = 0;
  int64_t k = 0;
  uint8_t* mask = nullptr;  // n bytes out
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  bool magnitude = false;  // rank |scores|
};
size_t topk_mask_workspace_bytes(int64_t n);
cudaError_t topk_mask_launch(topk_mask_params p, cudaStream_t stream);

}  // namespace senet
