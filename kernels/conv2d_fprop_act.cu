// kernels/conv2d_fprop_act.cu — the plain conv with a prologue (the previous BN + activation applied
// to x as it is loaded) and a residual epilogue (kernels/conv2d_fprop_act.h):
//   y[n,k,p,q] = Σ_{c,r,s} w[k,c,r,s] · x_eff[n, c, p·stride−pad+r, q·stride−pad+s] (+ r[n,k,p,q])
//   x_eff = act(fmaf(scale[c], x, shift[c])) inside the image, 0 in the padding
// Kernel: the main loops and tiles of conv2d_fprop — v5's FP32 128×128 (8×8 a thread), with tf32
//   v4's mma.sync 128×64 (or 128×128 where detail::tf32_wide), with wgmma too v7's (where
//   conv2d_fprop_wgmma_runs) — fed by the prologue gathers of the fused conv → BN forward
//   (kernels/conv_gather_act.cuh: tap-major when C is a multiple of the tile's BK, else the
//   hoisting gather), and the plain conv epilogue (detail::store_tile_nchw) with the residual.
//   block 256, grid (⌈NPQ/128⌉, ⌈K/BN⌉). FP32 on a grid that would leave SMs idle: fprop v6's
//   split-K (kernels/conv2d_fprop_split_k.cuh; the residual added by the in-order slice sum).
// Memory: x read once through the prologue (its scale, shift and mask are K-sized), r read once,
//   y written once — where the unfused chain writes and reads the activation (2 passes) and an
//   add reads y and r and writes the sum (3 passes: y written once more before it).
// Numerics: per output the FMA chain of the version's loop over x_eff (per slice, then the slices
//   in order), then + r: equal bitwise to conv2d_fprop (v5 or v6, v4, v7) of scale_shift_mrelu(x)
//   followed by an add
//   (tests/kernels/test_kernels_conv_prologue.cu).
#include "kernels/conv2d_fprop_act.h"

#include <type_traits>

#include "kernels/conv2d_fprop.h"
#include "kernels/conv2d_fprop_split_k.cuh"
#include "kernels/conv_gather_act.cuh"
#include "kernels/emu/cuda_compat.h"
#include "kernels/implicit_gemm.cuh"

namespace senet {

// T: the tile; G: its prologue gather (built on the host).
template <class T, class G>
__global__ void __launch_bounds__(T::threads, detail::min_blocks<T>())
    conv2d_fprop_act_kernel(Conv2dGeom p, G g, const float* __restrict__ residual,
                            float* __restrict__ y) {
  __align__(16) __shared__ float As[T::smem_a];
  __align__(16) __shared__ float Bs[T::smem_b];
  const int tid = int(threadIdx.x);
  const int m0 = int(blockIdx.x) * T::BM, n0 = int(blockIdx.y) * T::BN;
  const int M = int(p.gemm_m()), CRS = int(p.gemm_k());
  float acc[T::TM][T::TN];
  detail::tile_mainloop<T>(tid, m0, n0, M, p.K, 0, CRS, g, As, Bs, acc);
  detail::store_tile_nchw<T>(tid, m0, n0, M, p.K, p.P * p.Q, acc, y, nullptr, residual);
}

namespace {
// kTapOnly: the tap-major gather only (the caller has checked p.C % T::BK == 0).
template <class T, bool kTapOnly = false>
cudaError_t launch_act(const Conv2dGeom& p, const float* x, const conv_input_act& x_act,
                       const float* w, const float* residual, float* y, cudaStream_t stream) {
  const int64_t gx = (p.gemm_m() + T::BM - 1) / T::BM, gy = (p.K + T::BN - 1) / T::BN;
  if (gx > 0x7fffffff || gy > 65535) return cudaErrorInvalidValue;
  const auto run = [&](const auto& g) {
    return launch(conv2d_fprop_act_kernel<T, std::decay_t<decltype(g)>>,
                  dim3(unsigned(gx), unsigned(gy)), dim3(T::threads), 0, stream, p, g, residual, y);
  };
  using detail::conv2d_fprop_gather_act, detail::fprop_gather_tap_major;
  if constexpr (kTapOnly)
    return run(fprop_gather_tap_major<conv2d_fprop_gather_act>::make(p, x, w, x_act));
  else
    return p.C % T::BK == 0
               ? run(fprop_gather_tap_major<conv2d_fprop_gather_act>::make(p, x, w, x_act))
               : run(conv2d_fprop_gather_act::make(p, x, w, x_act));
}
}  // namespace

int64_t conv2d_fprop_act_workspace_floats(const conv2d_fprop_act_params& p) {
  if (p.tf32 || !conv2d_geom_valid(p.conv)) return 0;
  const int splits = conv2d_fprop_splits(p.conv);
  return splits == 1 ? 0 : int64_t(splits) * p.conv.y_size();
}

cudaError_t conv2d_fprop_act(conv2d_fprop_act_params p, const float* x, const conv_input_act& x_act,
                             const float* w, const float* residual, float* y, float* workspace,
                             cudaStream_t stream) {
  const Conv2dGeom& c = p.conv;
  if (!conv2d_geom_valid(c) || !x || !w || !y || !x_act.active() || !x_act.valid())
    return cudaErrorInvalidValue;
  if (!p.tf32) {
    using T = detail::tile_simt_128x128;
    const split_k_plan plan = conv2d_fprop_split_k_plan(c);
    if (plan.splits == 1) return launch_act<T>(c, x, x_act, w, residual, y, stream);
    using detail::conv2d_fprop_gather_act, detail::fprop_gather_tap_major;
    const auto split = [&](const auto& g) {
      return detail::conv2d_fprop_split_k<T>(c, g, plan, nullptr, residual, y, workspace, stream);
    };
    return c.C % T::BK == 0
               ? split(fprop_gather_tap_major<conv2d_fprop_gather_act>::make(c, x, w, x_act))
               : split(conv2d_fprop_gather_act::make(c, x, w, x_act));
  }
  if (p.wgmma && conv2d_fprop_wgmma_runs(c))
    return detail::with_wgmma_tile(
        c.K, [&]<class T>() { return launch_act<T, true>(c, x, x_act, w, residual, y, stream); });
  if (detail::tf32_wide(c.K, c.C))
    return launch_act<detail::tile_tf32_128x128, true>(c, x, x_act, w, residual, y, stream);
  return launch_act<detail::tile_tf32_128x64>(c, x, x_act, w, residual, y, stream);
}

}  // namespace senet
