// kernels/conv2d_fprop_act.h — a plain conv (no BatchNorm of its own) that applies the previous
// layer's BatchNorm and activation to its input as it loads it (the prologue of
// kernels/conv_input_act.h) and adds a residual as it stores:
//   y = conv(x_eff, w) (+ r),   x_eff = act(fmaf(scale[c], x, shift[c]))   (the padding stays 0)
// It is what the pre-activation residual block (WRN's: BN1 → act1 → conv1 → BN2 → act2 → conv2,
// + shortcut; engine/ops/preact_block.h) needs beyond the fused conv → BN of
// kernels/conv_bn_mrelu_fwd.h: conv2 reads conv1's output through act2(BN2(·)) and adds the
// shortcut; the 1×1 projection shortcut reads the block's input through act1(BN1(·)).
// Its backward is the plain conv's with the same x_act: dgrad as it is (the caller folds the BN
// backward in after it), wgrad reading x through x_act (kernels/conv2d_wgrad.h).
// See kernels/conv2d_fprop_act.cu for the tiles and the numerics.
#pragma once
#include "kernels/conv2d_geom.h"
#include "kernels/conv_input_act.h"
#include "kernels/kernel_params.h"

namespace senet {

struct conv2d_fprop_act_params {
  Conv2dGeom conv;     // x: N×C×H×W, w: K×C×R×S, y and r: N×K×P×Q
  bool tf32 = false;   // TF32 tensor cores (conv2d_fprop v4's tiles), like PyTorch's allow_tf32
  bool wgmma = false;  // with tf32: Hopper's warpgroup MMA where conv2d_fprop_wgmma_runs (v7's)
};

// It splits C·R·S where its math's fprop version does (v6 FP32, v8 TF32, v9 wgmma: small grids;
// kernels/conv2d_fprop_kernels.cuh): its workspace, splits·|y| floats then, else 0.
int64_t conv2d_fprop_act_workspace_floats(const conv2d_fprop_act_params& p);
// x_act must be active (a conv without a prologue is conv2d_fprop) and valid; residual may be
// null; workspace: conv2d_fprop_act_workspace_floats(p) floats (may be null when that is 0).
// y is overwritten (it must not alias x or residual).
cudaError_t conv2d_fprop_act(conv2d_fprop_act_params p, const float* x, const conv_input_act& x_act,
                             const float* w, const float* residual, float* y, float* workspace,
                             cudaStream_t stream);

}  // namespace senet
