// kernels/conv_bn_mrelu_fwd.h — fused conv2d → BatchNorm → masked ReLU, forward.
//   training: conv (+ per-channel BN partials in its epilogue) → bn_finalize → scale_shift_mrelu
//   inference: BN folded into the conv (conv_bn_fold) → ONE kernel with the activation in its
//   epilogue (conv_bn_mrelu_infer).
// See kernels/conv_bn_mrelu_fwd.cu for the math, and kernels/mrelu_bn_bwd.h for the backward.
#pragma once
#include "kernels/bn_finalize.h"
#include "kernels/conv2d_fprop.h"
#include "kernels/conv_bn_mrelu_tensors.h"
#include "kernels/scale_shift_mrelu.h"

namespace senet {

struct conv_bn_mrelu_fwd_params {
  Conv2dGeom conv;  // x: N×C×H×W, w: K×C×R×S, y/a: N×K×P×Q
  Act act = Act::MaskedReLU;
  bool mask_per_channel = false;  // mask: K bytes, or K·P·Q bytes (broadcast over N)
  float eps = 1e-5f;
  float momentum = 0.1f;  // training only
  bool tf32 = false;  // the conv on TF32 tensor cores (conv2d_fprop v4), like PyTorch's allow_tf32
  // With tf32: Hopper's warpgroup MMA (conv2d_fprop v7's tiles, kernels/implicit_gemm_wgmma.cuh)
  // where conv2d_fprop_wgmma_runs (sm_90a code on an sm_90 device, or the emulation; C a multiple
  // of 16), else the mma.sync tiles as without it. The same math: equal to them bitwise on small
  // integers, within the TF32 bound of each other elsewhere (the tensor cores' sum order).
  bool wgmma = false;
};

// Launch 1 alone: y = conv(x, w) (conv2d_fprop v5's FP32 loop) and, per block of 128 output
// pixels, the per-channel (count, mean, M2) partials of its y values (layout of kernels/bn_stats.h).
// The _tf32 twin: conv2d_fprop v4's loop on TF32 tensor cores, also blocks of 128 pixels; the
// _wgmma one: v7's where it runs (conv2d_fprop_wgmma_runs), else the _tf32 twin.
int64_t conv2d_fprop_bn_partials_count(const Conv2dGeom& p);  // = ⌈N·P·Q/128⌉ per channel
cudaError_t conv2d_fprop_bn_partials(Conv2dGeom p, const float* x, const float* w, float* y,
                                     bn_partials out, cudaStream_t stream);
cudaError_t conv2d_fprop_bn_partials_tf32(Conv2dGeom p, const float* x, const float* w, float* y,
                                          bn_partials out, cudaStream_t stream);
cudaError_t conv2d_fprop_bn_partials_wgmma(Conv2dGeom p, const float* x, const float* w, float* y,
                                           bn_partials out, cudaStream_t stream);

// 3 · partials · K, + the split conv's slices (splits · |y|) where the math's split version (fprop
// v6 FP32, v8 TF32 and wgmma) splits C·R·S. TF32 never splits more than FP32 (its tiles are no
// wider and its slices no thinner), so the FP32 size (tf32 = false) serves every math.
int64_t conv_bn_mrelu_fwd_workspace_floats(const Conv2dGeom& p, bool tf32 = false);
// The three launches: conv + partials, bn_finalize_train, scale_shift_mrelu (on a small grid:
// split-K conv, bn_stats_partials, finalize, scale_shift_mrelu; see the .cu).
cudaError_t conv_bn_mrelu_fwd_train(conv_bn_mrelu_fwd_params p, const conv_bn_mrelu_fwd_tensors& t,
                                    cudaStream_t stream);

// Inference: w_folded[k,·] = w[k,·]·γ_k/σ_k, b_folded[k] = β_k − μ_k·γ_k/σ_k with the running stats
// (σ = √(running_var+ε)). One kernel over w.
cudaError_t conv_bn_fold(Conv2dGeom p, float eps, const float* w, const float* gamma,
                         const float* beta, const float* running_mean, const float* running_var,
                         float* w_folded, float* b_folded, cudaStream_t stream);
// a = act(conv(x, w_folded) + b_folded (+ residual)): one kernel (the fprop v5 loop, or v4's with
// tf32; the residual and the activation in the epilogue). residual: N×K×P×Q or null.
cudaError_t conv_bn_mrelu_infer(conv_bn_mrelu_fwd_params p, const float* x, const float* w_folded,
                                const float* b_folded, const uint8_t* mask, float* a,
                                cudaStream_t stream, const float* residual = nullptr);

}  // namespace senet
