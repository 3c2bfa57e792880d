// kernels/conv2d_fprop_act.cu — the plain conv with a prologue (the previous BN + activation applied
// to x as it is loaded) and a residual epilogue (kernels/conv2d_fprop_act.h):
//   y[n,k,p,q] = Σ_{c,r,s} w[k,c,r,s] · x_eff[n, c, p·stride−pad+r, q·stride−pad+s] (+ r[n,k,p,q])
//   x_eff = act(fmaf(scale[c], x, shift[c])) inside the image, 0 in the padding
// Kernel: the main loops and tiles of conv2d_fprop — v5's FP32 128×128 (8×8 a thread), with tf32
//   v4's mma.sync 128×64 (or 128×128 where detail::tf32_wide), with wgmma too v7's (where
//   conv2d_fprop_wgmma_runs) — fed by the prologue gathers of the fused conv → BN forward
//   (kernels/conv_gather_act.cuh: tap-major when C is a multiple of the tile's BK, else the
//   hoisting gather), and the plain conv epilogue (detail::store_tile_nchw) with the residual:
//   conv2d_fprop's own kernels (kernels/conv2d_fprop_kernels.cuh) with other gathers.
//   block 256, grid (⌈NPQ/128⌉, ⌈K/BN⌉). On a grid that would leave SMs idle, the split-K of
//   the math's fprop version — v6 (FP32), v8 (TF32), v9 (wgmma) — with its plan
//   (kernels/conv2d_fprop_kernels.cuh; the residual added by the in-order slice sum).
// Memory: x read once through the prologue (its scale, shift and mask are K-sized), r read once,
//   y written once — where the unfused chain writes and reads the activation (2 passes) and an
//   add reads y and r and writes the sum (3 passes: y written once more before it).
// Numerics: per output the FMA chain of the version's loop over x_eff (per slice, then the slices
//   in order), then + r: equal bitwise to conv2d_fprop v6, v8 or v9 (v5, v4, v7 when unsplit) of
//   scale_shift_mrelu(x) followed by an add (tests/kernels/test_kernels_conv_prologue.cu).
#include "kernels/conv2d_fprop_act.h"

#include <type_traits>

#include "kernels/conv2d_fprop.h"
#include "kernels/conv2d_fprop_kernels.cuh"
#include "kernels/conv_gather_act.cuh"
#include "kernels/emu/cuda_compat.h"
#include "kernels/implicit_gemm.cuh"

namespace senet {

namespace {
// run(g) with the prologue gather for tile T: the tap-major one when C is a multiple of T::BK
// (kTapOnly: the caller has checked that it is), else the hoisting one.
template <class T, bool kTapOnly, class Run>
cudaError_t with_act_gather(const Conv2dGeom& p, const float* x, const float* w,
                            const conv_input_act& x_act, Run&& run) {
  using detail::conv2d_fprop_gather_act, detail::fprop_gather_tap_major;
  if constexpr (!kTapOnly)
    if (p.C % T::BK != 0) return run(conv2d_fprop_gather_act::make(p, x, w, x_act));
  return run(fprop_gather_tap_major<conv2d_fprop_gather_act>::make(p, x, w, x_act));
}
// Tile T's kernel with the prologue gather: unsplit, or in plan.splits slices through workspace.
template <class T, bool kTapOnly = false>
cudaError_t launch_act(const Conv2dGeom& p, const float* x, const conv_input_act& x_act,
                       const float* w, const float* residual, float* y, cudaStream_t stream,
                       split_k_plan plan, float* workspace) {
  return with_act_gather<T, kTapOnly>(p, x, w, x_act, [&](const auto& g) {
    if (plan.splits > 1)
      return detail::conv2d_fprop_split_k<T>(p, g, plan, nullptr, residual, y, workspace, stream);
    return detail::conv2d_fprop_unsplit<T>(p, g, nullptr, residual, y, stream);
  });
}
// The version whose tiles and split the math takes (v6, v8 or v9).
conv2d_fprop_version split_version(const conv2d_fprop_act_params& p) {
  return conv2d_fprop_split_k_version(p.tf32, p.wgmma);
}
}  // namespace

int64_t conv2d_fprop_act_workspace_floats(const conv2d_fprop_act_params& p) {
  return conv2d_fprop_workspace_floats(split_version(p), p.conv);
}

cudaError_t conv2d_fprop_act(conv2d_fprop_act_params p, const float* x, const conv_input_act& x_act,
                             const float* w, const float* residual, float* y, float* workspace,
                             cudaStream_t stream) {
  const Conv2dGeom& c = p.conv;
  if (!conv2d_geom_valid(c) || !x || !w || !y || !x_act.active() || !x_act.valid())
    return cudaErrorInvalidValue;
  const split_k_plan plan = conv2d_fprop_split_k_plan(c, split_version(p));
  if (!p.tf32)
    return launch_act<detail::tile_simt_128x128>(c, x, x_act, w, residual, y, stream, plan,
                                                 workspace);
  if (p.wgmma && conv2d_fprop_wgmma_runs(c))
    return detail::with_wgmma_tile(c.K, [&]<class T>() {
      return launch_act<T, true>(c, x, x_act, w, residual, y, stream, plan, workspace);
    });
  if (detail::tf32_wide(c.K, c.C))
    return launch_act<detail::tile_tf32_128x128, true>(c, x, x_act, w, residual, y, stream, plan,
                                                       workspace);
  return launch_act<detail::tile_tf32_128x64>(c, x, x_act, w, residual, y, stream, plan, workspace);
}

}  // namespace senet
