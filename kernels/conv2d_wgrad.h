// kernels/conv2d_wgrad.h — host-callable weight-gradient (wgrad) kernels of conv2d.
//   dw[k,c,r,s] = Σ_{n,p,q} dy[n,k,p,q] · x[n, c, p·stride−pad+r, q·stride−pad+s]  (0 outside)
// dw is overwritten. Geometry: the forward conv's Conv2dGeom (kernels/conv2d_geom.h).
#pragma once
#include "kernels/conv2d_fprop.h"
#include "kernels/conv_dy_bn.h"
#include "kernels/conv_input_act.h"

namespace senet {

enum class conv2d_wgrad_version {
  v1_direct,  // one thread per dw element, loops n,p,q
  v2_split_k,  // implicit GEMM (M = K, N = C·R·S, K = N·P·Q) split over N·P·Q: per-block partial
               // tiles in a workspace, then a deterministic in-order reduction (no atomics)
  v3_tf32_split_k,  // v2's split and reduction, each slice's GEMM on TF32 tensor cores (64×128)
  v4_simt_split_k,  // v2's split and reduction, FP32 128×128 tile, 8×8 per thread, no division
  v5_tf32_wgmma,    // v3 on Hopper's warpgroup MMA (sm_90a), 128×128, when K ≥ 128; else v3
};
inline constexpr conv2d_wgrad_version kConv2dWgradVersions[] = {
    conv2d_wgrad_version::v1_direct, conv2d_wgrad_version::v2_split_k,
    conv2d_wgrad_version::v3_tf32_split_k, conv2d_wgrad_version::v4_simt_split_k,
    conv2d_wgrad_version::v5_tf32_wgmma};
const char* conv2d_wgrad_version_name(conv2d_wgrad_version v);

// v2 and v3: number of N·P·Q slices, and the workspace it needs (floats; 0 when there is one slice, which
// writes dw directly). A pure function of the geometry, so the result never depends on the device.
int conv2d_wgrad_v2_splits(const Conv2dGeom& p);
int64_t conv2d_wgrad_v2_workspace_floats(const Conv2dGeom& p);

cudaError_t conv2d_wgrad_v1_direct(Conv2dGeom p, const float* x, const float* dy, float* dw,
                                   cudaStream_t stream);
// workspace: conv2d_wgrad_v2_workspace_floats(p) floats of device memory (may be null when 0).
cudaError_t conv2d_wgrad_v2_split_k(Conv2dGeom p, const float* x, const float* dy, float* dw,
                                    float* workspace, cudaStream_t stream);
// x and dy rounded to TF32 (10-bit mantissa), products summed in fp32 (PyTorch's allow_tf32);
// the same slices and workspace as v2.
// x_act (v3, v4, v5; prologue fusion, kernels/conv_input_act.h): x is the previous layer's y, and dw is
// the gradient for the conv's real input act(scale·x + shift), applied while x is loaded.
// dy_bn (v3, v4, v5; the folded BN backward, kernels/conv_dy_bn.h): dy is computed from dy_bn.da and
// dy_bn.y as it is loaded, and the dy argument must be null.
// v5: v3's math with wgmma (kernels/implicit_gemm_wgmma.cuh, a 128×128 tile whose A, dy, is read
// kk-fastest) where conv2d_wgrad_wgmma_runs(p): wgmma_available() (kernels/wgmma_available.h) and
// K ≥ 128 (the tile's rows; v3's 64×128 tile suits fewer output channels). Anywhere else v3. The
// same slices and workspace as v2.
bool conv2d_wgrad_wgmma_runs(const Conv2dGeom& p);
cudaError_t conv2d_wgrad_v5_tf32_wgmma(Conv2dGeom p, const float* x, const float* dy, float* dw,
                                       float* workspace, cudaStream_t stream,
                                       const conv_input_act& x_act = {},
                                       const conv_dy_bn& dy_bn = {});
cudaError_t conv2d_wgrad_v3_tf32_split_k(Conv2dGeom p, const float* x, const float* dy, float* dw,
                                         float* workspace, cudaStream_t stream,
                                         const conv_input_act& x_act = {},
                                         const conv_dy_bn& dy_bn = {});
cudaError_t conv2d_wgrad_v4_simt_split_k(Conv2dGeom p, const float* x, const float* dy, float* dw,
                                         float* workspace, cudaStream_t stream,
                                         const conv_input_act& x_act = {},
                                         const conv_dy_bn& dy_bn = {});
cudaError_t conv2d_wgrad(conv2d_wgrad_version v, Conv2dGeom p, const float* x, const float* dy,
                         float* dw, float* workspace, cudaStream_t stream);

}  // namespace senet
