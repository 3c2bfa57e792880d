// kernels/conv2d_dgrad.h — host-callable data-gradient (dgrad) kernels of conv2d: the transposed
// convolution of dy with w.   dx[n,c,h,w] = Σ_{k,r,s} dy[n,k,p,q] · w[k,c,r,s]
// over the (p,q) with p·stride−pad+r = h, q·stride−pad+s = w.  dx is overwritten.
// Geometry: the forward conv's Conv2dGeom (kernels/conv2d_geom.h).
#pragma once
#include "kernels/conv2d_fprop.h"
#include "kernels/conv_dy_bn.h"

namespace senet {

enum class conv2d_dgrad_version {
  v1_direct,          // one thread per dx element, loops k,r,s with the stride-divisibility test
  v2_register_block,  // implicit GEMM (M = N·H·W, N = C, K = K·R·S), 64×64 tile, 4×4 per thread
  v3_tf32_mma,        // the same GEMM on TF32 tensor cores, 128×64 tile, 8 warps of 32×32
  v4_simt_128x128,    // FP32, 128×128 tile, 8×8 per thread (LDS.128), two stages, no division
  v5_simt_phases,     // v4 per output phase of a strided conv: only the taps that exist
  v6_tf32_wgmma,      // v3's GEMM on Hopper's warpgroup MMA (sm_90a), 128×128 or 128×64; else v3
  v7_simt_split_k,    // v4 with K·R·S split over blockIdx.z when the grid is small; in-order sum
  v8_tf32_split_k,    // v3 with v7's split on its TF32 tile; v10 when strided
  v9_tf32_wgmma_split_k,  // v6 with v8's split; v8 where wgmma cannot run
  v10_tf32_phases,        // v5's stride phases (no zero taps) on v3's TF32 tiles
  v11_tf32_wgmma_phases,  // v10 on v6's wgmma tiles; v10 where wgmma cannot run
};
inline constexpr conv2d_dgrad_version kConv2dDgradVersions[] = {
    conv2d_dgrad_version::v1_direct,
    conv2d_dgrad_version::v2_register_block,
    conv2d_dgrad_version::v3_tf32_mma,
    conv2d_dgrad_version::v4_simt_128x128,
    conv2d_dgrad_version::v5_simt_phases,
    conv2d_dgrad_version::v6_tf32_wgmma,
    conv2d_dgrad_version::v7_simt_split_k,
    conv2d_dgrad_version::v8_tf32_split_k,
    conv2d_dgrad_version::v9_tf32_wgmma_split_k,
    conv2d_dgrad_version::v10_tf32_phases,
    conv2d_dgrad_version::v11_tf32_wgmma_phases};
const char* conv2d_dgrad_version_name(conv2d_dgrad_version v);

cudaError_t conv2d_dgrad_v1_direct(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                   cudaStream_t stream);
cudaError_t conv2d_dgrad_v2_register_block(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                           cudaStream_t stream);
// dy and w rounded to TF32 (10-bit mantissa), products summed in fp32 (PyTorch's allow_tf32).
// dy_bn (v3 to v9; kernels/conv_dy_bn.h): the BN backward folded in — dy is computed from
// dy_bn.da and dy_bn.y as it is loaded, and the dy argument must be null.
// v6: v3's math with wgmma (kernels/implicit_gemm_wgmma.cuh) where conv2d_dgrad_wgmma_runs(p):
// wgmma_available() (kernels/wgmma_available.h) and K a multiple of 16 (the tap-major gather); a
// 128×128 tile when C ≥ 128, else 128×64. Anywhere else it runs v3.
bool conv2d_dgrad_wgmma_runs(const Conv2dGeom& p);
cudaError_t conv2d_dgrad_v6_tf32_wgmma(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                       cudaStream_t stream, const conv_dy_bn& dy_bn = {});
cudaError_t conv2d_dgrad_v3_tf32_mma(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                     cudaStream_t stream, const conv_dy_bn& dy_bn = {});
cudaError_t conv2d_dgrad_v4_simt_128x128(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                         cudaStream_t stream, const conv_dy_bn& dy_bn = {});
// Stride σ > 1: σ² GEMMs (one launch), each over the taps that reach its phase of dx; σ = 1 is v4's
// GEMM; σ > 4 runs v4.
cudaError_t conv2d_dgrad_v5_simt_phases(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                        cudaStream_t stream, const conv_dy_bn& dy_bn = {});
// Split-K (v7), fprop v6's rule (kernels/split_k_plan.h) on v4's grid: when ⌈N·H·W/128⌉·⌈C/128⌉ <
// kSplitKFillBlocks (ResNet-18's 4×4 layers at N = 128: 16 × 4 = 64 blocks for 132 SMs), K·R·S is
// cut into `splits` slices of ≥ 64 (a multiple of 8, none empty, at most 16); slice z's partial dx
// goes to workspace[z] (N×C×H×W each), and a second kernel sums the slices in order. splits = 1: v4
// itself, no workspace. Stride > 1: v5 (its phases already drop the zero taps; splits = 1).
// v8, v9: v3 and v6 split by the same rule on v3's grid (128×64, or 128×128 where
// detail::tf32_wide; BK = 16); strided convs run v10, v11 (the phases, unsplit).
// The split versions' count; any other version: 1.
int conv2d_dgrad_splits(const Conv2dGeom& p,
                        conv2d_dgrad_version v = conv2d_dgrad_version::v7_simt_split_k);
int64_t conv2d_dgrad_workspace_floats(conv2d_dgrad_version v, const Conv2dGeom& p);  // 0: none
cudaError_t conv2d_dgrad_v7_simt_split_k(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                         float* workspace, cudaStream_t stream,
                                         const conv_dy_bn& dy_bn = {});
cudaError_t conv2d_dgrad_v8_tf32_split_k(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                         float* workspace, cudaStream_t stream,
                                         const conv_dy_bn& dy_bn = {});
cudaError_t conv2d_dgrad_v9_tf32_wgmma_split_k(Conv2dGeom p, const float* dy, const float* w,
                                               float* dx, float* workspace, cudaStream_t stream,
                                               const conv_dy_bn& dy_bn = {});
// v10, v11: v5's phases on the TF32 tiles (v3's; v6's wgmma ones where they run). Stride 1 or
// > 4: v3 (v6) itself; K not a multiple of 16 with dy_bn: v3 (the phase fold is tap-major only).
cudaError_t conv2d_dgrad_v10_tf32_phases(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                         cudaStream_t stream, const conv_dy_bn& dy_bn = {});
cudaError_t conv2d_dgrad_v11_tf32_wgmma_phases(Conv2dGeom p, const float* dy, const float* w,
                                               float* dx, cudaStream_t stream,
                                               const conv_dy_bn& dy_bn = {});
// Any version; workspace: conv2d_dgrad_workspace_floats(v, p) floats (may be null when that is 0);
// dy_bn: v3 to v11 (v1 and v2 refuse an active one).
cudaError_t conv2d_dgrad(conv2d_dgrad_version v, Conv2dGeom p, const float* dy, const float* w,
                         float* dx, cudaStream_t stream, float* workspace = nullptr,
                         const conv_dy_bn& dy_bn = {});

}  // namespace senet
