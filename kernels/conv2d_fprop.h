// kernels/conv2d_fprop.h — host-callable 2-D convolution forward (fprop) kernels. The geometry the
// whole conv family shares is Conv2dGeom (kernels/conv2d_geom.h).
//   y[n,k,p,q] = b[k] + Σ_{c,r,s} w[k,c,r,s] · x[n, c, p·stride−pad+r, q·stride−pad+s]  (0 outside)
//   x: N×C×H×W, w: K×C×R×S, y: N×K×P×Q (NCHW, fp32), P = (H+2·pad−R)/stride+1, Q likewise.
// Rule: raw device pointers + the geometry by value; every launcher checks its preconditions and
// returns cudaErrorInvalidValue instead of launching out of bounds (see kernels/conv2d_fprop.cu).
#pragma once
#include <cstdint>

#include "kernels/conv2d_geom.h"
#include "kernels/kernel_params.h"
#include "kernels/split_k_plan.h"

namespace senet {

enum class conv2d_fprop_version {
  v1_direct,     // one thread per output, the reference loops
  v2_smem_tile,  // implicit GEMM, 16×16 output tile per block, BK = 16 slices in shared memory
  v3_register_block,  // implicit GEMM, 64×64 tile per block, 4×4 outputs per thread in registers
  v4_tf32_mma,        // implicit GEMM on TF32 tensor cores, 128×64 tile, 8 warps of 32×32
  v5_simt_128x128,    // FP32, 128×128 tile, 8×8 per thread (LDS.128), two stages, no division
  v6_simt_split_k,    // v5 with C·R·S split over blockIdx.z when the grid is small; in-order sum
  v7_tf32_wgmma,      // TF32 on Hopper's warpgroup MMA (sm_90a), 128×128 or 128×64; else v4
  v8_tf32_split_k,    // v4 with C·R·S split over blockIdx.z when the grid is small (v6's rule)
  v9_tf32_wgmma_split_k,  // v7 with v8's split; v8 where wgmma cannot run
};
inline constexpr conv2d_fprop_version kConv2dFpropVersions[] = {
    conv2d_fprop_version::v1_direct,
    conv2d_fprop_version::v2_smem_tile,
    conv2d_fprop_version::v3_register_block,
    conv2d_fprop_version::v4_tf32_mma,
    conv2d_fprop_version::v5_simt_128x128,
    conv2d_fprop_version::v6_simt_split_k,
    conv2d_fprop_version::v7_tf32_wgmma,
    conv2d_fprop_version::v8_tf32_split_k,
    conv2d_fprop_version::v9_tf32_wgmma_split_k};
const char* conv2d_fprop_version_name(conv2d_fprop_version v);

// y = conv(x, w) (+ bias[k] when bias is not null). y is overwritten.
cudaError_t conv2d_fprop_v1_direct(Conv2dGeom p, const float* x, const float* w, const float* bias,
                                   float* y, cudaStream_t stream);
cudaError_t conv2d_fprop_v2_smem_tile(Conv2dGeom p, const float* x, const float* w,
                                      const float* bias, float* y, cudaStream_t stream);
cudaError_t conv2d_fprop_v3_register_block(Conv2dGeom p, const float* x, const float* w,
                                           const float* bias, float* y, cudaStream_t stream);
// x and w rounded to TF32 (10-bit mantissa) as PyTorch's allow_tf32 does; products summed in fp32.
cudaError_t conv2d_fprop_v4_tf32_mma(Conv2dGeom p, const float* x, const float* w,
                                     const float* bias, float* y, cudaStream_t stream);
cudaError_t conv2d_fprop_v5_simt_128x128(Conv2dGeom p, const float* x, const float* w,
                                         const float* bias, float* y, cudaStream_t stream);
// Split-K (v6): when v5's grid has fewer than kConv2dFpropFillBlocks blocks (the 4×4 layers of
// ResNet-18 at N = 128: 64 blocks for 132 SMs), C·R·S is cut into `splits` slices of ≥ 64 (a
// multiple of 8, none empty, at most 16); slice z's partial y goes to workspace[z] (N×K×P×Q each),
// and a second kernel sums the slices in order (+ bias). splits = 1: v5 itself, no workspace.
// (The rule, shared with dgrad v7: kernels/split_k_plan.h.)
// v8 and v9 split the TF32 GEMM by the same rule on its own tile (128×64, or 128×128 where
// detail::tf32_wide; BK = 16): v9's wgmma tile is v8's shape wherever wgmma runs, so they split
// alike. The split versions' plan; any other version: {1, C·R·S}.
inline constexpr int kConv2dFpropFillBlocks = kSplitKFillBlocks;  // two waves of 132 SMs
split_k_plan conv2d_fprop_split_k_plan(
    const Conv2dGeom& p, conv2d_fprop_version v = conv2d_fprop_version::v6_simt_split_k);
int conv2d_fprop_splits(const Conv2dGeom& p,
                        conv2d_fprop_version v = conv2d_fprop_version::v6_simt_split_k);
int64_t conv2d_fprop_workspace_floats(conv2d_fprop_version v, const Conv2dGeom& p);  // 0: none
// The split-K version of a math: v6 (FP32), v8 (TF32 on mma.sync), v9 (TF32 on wgmma) — the
// forward the CUDA backend runs, and the one every fused forward splits like (bitwise equal).
conv2d_fprop_version conv2d_fprop_split_k_version(bool tf32, bool wgmma);
cudaError_t conv2d_fprop_v6_simt_split_k(Conv2dGeom p, const float* x, const float* w,
                                         const float* bias, float* y, float* workspace,
                                         cudaStream_t stream);
// v7: v4's math (x and w rounded to TF32, fp32 sums) with wgmma.m64nNk8 from shared memory
// (kernels/implicit_gemm_wgmma.cuh) where conv2d_fprop_wgmma_runs(p): wgmma_available()
// (kernels/wgmma_available.h) and C a multiple of 16 (the tap-major gather);
// a 128×128 tile when K ≥ 128, else 128×64. Anywhere else it runs v4 itself.
bool conv2d_fprop_wgmma_runs(const Conv2dGeom& p);
cudaError_t conv2d_fprop_v7_tf32_wgmma(Conv2dGeom p, const float* x, const float* w,
                                       const float* bias, float* y, cudaStream_t stream);
// v8, v9: v4 and v7 split like v6 where the grid is small; splits = 1: v4 or v7 itself.
// workspace: conv2d_fprop_workspace_floats(v, p) floats (may be null when that is 0).
cudaError_t conv2d_fprop_v8_tf32_split_k(Conv2dGeom p, const float* x, const float* w,
                                         const float* bias, float* y, float* workspace,
                                         cudaStream_t stream);
cudaError_t conv2d_fprop_v9_tf32_wgmma_split_k(Conv2dGeom p, const float* x, const float* w,
                                               const float* bias, float* y, float* workspace,
                                               cudaStream_t stream);
// Any version; workspace: conv2d_fprop_workspace_floats(v, p) floats (may be null when that is 0).
cudaError_t conv2d_fprop(conv2d_fprop_version v, Conv2dGeom p, const float* x, const float* w,
                         const float* bias, float* y, cudaStream_t stream,
                         float* workspace = nullptr);

}  // namespace senet
