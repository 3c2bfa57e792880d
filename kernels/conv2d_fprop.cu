// kernels/conv2d_fprop.cu — 2-D convolution forward (cross-correlation, zero padding, optional bias)
// Math (NCHW; x: N×C×H×W, w: K×C×R×S, y: N×K×P×Q):
//   y[n,k,p,q] = b[k] + Σ_{c,r,s} w[k,c,r,s] · x[n, c, p·stride−pad+r, q·stride−pad+s],  0 outside
// Implicit GEMM: GEMM_M = N·P·Q (rows = output pixels), GEMM_N = K, GEMM_K = C·R·S;
//   A = im2col(x) gathered on the fly, B = wᵀ (w is K×CRS row-major). flops = 2·N·K·P·Q·C·R·S
// Versions:
//   v1_direct          one thread per output (n,k,p,q), loops c,r,s as in the CPU reference.
//                      block 256, grid ⌈N·K·P·Q/256⌉. Every x and w value is re-read from global.
//   v2_smem_tile       implicit GEMM, 16×16 tile (16 pixels × 16 channels), one output per thread,
//                      BK = 16 slices of A and B staged in shared memory (2 KiB): each loaded
//                      value is reused 16×. block 256, grid (⌈NPQ/16⌉, ⌈K/16⌉).
//   v3_register_block  implicit GEMM, 64×64 tile, each thread a 4×4 register block (rows and cols
//                      strided by 16), BK = 8 (4 KiB smem): 8 smem loads feed 16 FMAs.
//                      block 256, grid (⌈NPQ/64⌉, ⌈K/64⌉). Shared with the fused conv→BN kernels
//                      (kernels/conv_bn_mrelu_fwd.cu), which change only the epilogue.
//   v4_tf32_mma        the same kernel on TF32 tensor cores (kernels/implicit_gemm_mma.cuh):
//                      128×64 tile, 8 warps of 32×32 (2×4 mma.m16n8k8 tiles each), BK = 16 in
//                      smem in fragment order, the next slice prefetched into registers during
//                      the MMAs. block 256, grid (⌈NPQ/128⌉, ⌈K/64⌉); when K ≥ 128 and C is a
//                      multiple of 16, the 128×128 tile (8 warps of 64×32: twice the MMAs per
//                      loaded element), grid (⌈NPQ/128⌉, ⌈K/128⌉). Like PyTorch's allow_tf32: x
//                      and w rounded to TF32 (10-bit mantissa), products summed in fp32.
//   v5_simt_128x128    FP32 again, the CUDA-core loop near its roof (kernels/implicit_gemm_simt.cuh):
//                      128×128 tile, 8×8 outputs per thread read as float4 (LDS.128), two
//                      shared-memory stages, no division in the loop (the hoisting gather,
//                      kernels/conv_gather_fast.cuh, which v4 uses too). block 256,
//                      grid (⌈NPQ/128⌉, ⌈K/128⌉).
//   v6_simt_split_k    v5 when its grid would leave SMs idle (< 264 blocks: ResNet-18's 4×4 and
//                      8×8 layers at N = 128): C·R·S cut into slices of ≥ 64 (multiple of BK = 8,
//                      ≤ 16 slices), slice z on blockIdx.z writes its partial y to workspace[z];
//                      then one thread per y element sums the slices in order z = 0, 1, … and
//                      adds the bias. grid (⌈NPQ/128⌉, ⌈K/128⌉, splits). Deterministic; the extra
//                      traffic is 2·splits·|y| floats, small next to the GEMM on such layers.
//   v7_tf32_wgmma      v4's math on Hopper's warpgroup MMA (kernels/implicit_gemm_wgmma.cuh): 2
//                      warpgroups, each 64 rows × the tile's 128 (K ≥ 128) or 64 columns with
//                      wgmma.m64nNk8 reading both operands from shared memory, asynchronous while
//                      the next slice is stored. block 256, grid (⌈NPQ/128⌉, ⌈K/BN⌉). Where it
//                      cannot run (no sm_90a code in this build, another GPU, C not a multiple of
//                      16) it runs v4.
//   v8_tf32_split_k    v4 split like v6 where its grid would leave SMs idle — the TF32 tiles are
//                      no faster to fill: ResNet-18's 4×4 layer at N = 128 is 16 × 4 = 64 blocks
//                      of 128×128 for 132 SMs — C·R·S cut by the same rule (kernels/split_k_plan.h)
//                      on v4's grid and BK = 16, the slices on v4's tiles and gathers, then the
//                      same in-order slice sum (kernels/split_k_sum.h). grid (⌈NPQ/128⌉, ⌈K/BN⌉,
//                      splits); splits = 1: v4 itself.
//   v9_tf32_wgmma_split_k  v7 split like v8 (the wgmma tiles have v4's shapes where they run, so
//                      the plan is v8's); v8 where wgmma cannot run.
//   v4–v9 when C is a multiple of the tile's BK (8; TF32 16 — every layer but a network's
//                      first): the reduction tap-major, (r,s,c) instead of (c,r,s), so that a slice
//                      lies in one tap and a thread decodes it once per slice
//                      (fprop_gather_tap_major; the fused conv→BN kernels too).
// Numerics: fp32, one FMA chain per output in ascending reduction order ((c,r,s), or (r,s,c)
//   tap-major), bias added last. With small
//   integer inputs every partial sum is exact, so all versions equal the CPU reference bitwise
//   (v4 too: integers up to 2¹¹ are TF32 values). On random data v4 is within ~1e-3 relative;
//   v6 sums the slices' chains, a different association: a few ulp from v5 (v8, v9 likewise
//   from v4, v7; each slice's operands are rounded to TF32 exactly as v4's).
#include "kernels/conv2d_fprop.h"

#include <algorithm>
#include <type_traits>

#include "kernels/conv2d_fprop_kernels.cuh"
#include "kernels/emu/cuda_compat.h"
#include "kernels/implicit_gemm.cuh"
#include "kernels/wgmma_available.h"

namespace senet {

__global__ void conv2d_fprop_v1_direct_kernel(Conv2dGeom p, const float* __restrict__ x,
                                              const float* __restrict__ w,
                                              const float* __restrict__ bias,
                                              float* __restrict__ y) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= p.y_size()) return;
  const int q = int(i % p.Q), pp = int(i / p.Q % p.P), k = int(i / (int64_t(p.P) * p.Q) % p.K);
  const int n = int(i / (int64_t(p.P) * p.Q * p.K));
  float acc = 0.0f;
  for (int c = 0; c < p.C; ++c)
    for (int r = 0; r < p.R; ++r) {
      const int h = pp * p.stride - p.pad + r;
      if (h < 0 || h >= p.H) continue;
      for (int s = 0; s < p.S; ++s) {
        const int ww = q * p.stride - p.pad + s;
        if (ww < 0 || ww >= p.W) continue;
        acc = fmaf(w[((int64_t(k) * p.C + c) * p.R + r) * p.S + s],
                   x[((int64_t(n) * p.C + c) * p.H + h) * p.W + ww], acc);
      }
    }
  y[i] = bias ? acc + bias[k] : acc;
}

// v2–v9: detail::conv2d_fprop_implicit_gemm_kernel (kernels/conv2d_fprop_kernels.cuh) with fprop's
// gathers; the slices of v6, v8 and v9 there too.

namespace {
using detail::tile_simt_128x128, detail::tile_tf32_128x128, detail::tile_tf32_128x64;
static_assert(detail::tile_wgmma_128x128::BN == tile_tf32_128x128::BN &&
                  detail::tile_wgmma_128x64::BN == tile_tf32_128x64::BN &&
                  detail::tile_wgmma_128x128::BK == tile_tf32_128x128::BK &&
                  detail::tile_wgmma_128x64::BK == tile_tf32_128x64::BK &&
                  detail::tile_wgmma_128x64::BM == tile_tf32_128x64::BM,
              "v9 splits like v8: the wgmma tiles have the mma.sync tiles' shapes");

// The split-K rule shared with dgrad (kernels/split_k_plan.h) on the version's grid: v5's 128×128
// for v6, v4's TF32 tile for v8 and v9 (where v9 runs wgmma, C is a multiple of 16, so its tile's
// width — 128 from K = 128 — is v4's too). Others, and bad geometry: none.
split_k_plan plan_fprop(const Conv2dGeom& p, conv2d_fprop_version v) {
  using V = conv2d_fprop_version;
  if (!conv2d_geom_valid(p)) return {1, int(p.gemm_k())};  // the launcher refuses it
  if (v == V::v6_simt_split_k) {
    using T = tile_simt_128x128;
    return plan_split_k(p.gemm_m(), p.K, p.gemm_k(), T::BM, T::BN, T::BK);
  }
  if (v == V::v8_tf32_split_k || v == V::v9_tf32_wgmma_split_k) {
    using T = tile_tf32_128x64;
    const int bn = detail::tf32_wide(p.K, p.C) ? tile_tf32_128x128::BN : T::BN;
    return plan_split_k(p.gemm_m(), p.K, p.gemm_k(), T::BM, bn, T::BK);
  }
  return {1, int(p.gemm_k())};
}

bool fprop_args_ok(const Conv2dGeom& p, const float* x, const float* w, const float* y) {
  return conv2d_geom_valid(p) && x && w && y;
}
// Tile T's kernel with fprop's gather: unsplit, or in plan.splits slices through workspace.
// kTapOnly: the tap-major gather only (the caller has checked p.C % T::BK == 0).
template <class T, bool kTapOnly = false>
cudaError_t launch_implicit_gemm(const Conv2dGeom& p, const float* x, const float* w,
                                 const float* bias, float* y, cudaStream_t stream,
                                 split_k_plan plan = {1, 0}, float* workspace = nullptr) {
  if (!fprop_args_ok(p, x, w, y)) return cudaErrorInvalidValue;
  const auto run = [&](const auto& g) {
    if constexpr (T::hoisted)  // only the fast tiles split (v6, v8, v9)
      if (plan.splits > 1)
        return detail::conv2d_fprop_split_k<T>(p, g, plan, bias, nullptr, y, workspace, stream);
    return detail::conv2d_fprop_unsplit<T>(p, g, bias, nullptr, y, stream);
  };
  if constexpr (kTapOnly)
    return run(detail::conv2d_fprop_gather_tap::make(p, x, w));
  else
    return detail::with_fprop_gather<T>(p, x, w, run);
}
// TF32 on mma.sync (v4, v8): the wide tile where detail::tf32_wide, else 128×64.
cudaError_t launch_tf32_mma(const Conv2dGeom& p, const float* x, const float* w, const float* bias,
                            float* y, cudaStream_t stream, split_k_plan plan = {1, 0},
                            float* workspace = nullptr) {
  if (detail::tf32_wide(p.K, p.C))
    return launch_implicit_gemm<tile_tf32_128x128, true>(p, x, w, bias, y, stream, plan, workspace);
  return launch_implicit_gemm<tile_tf32_128x64>(p, x, w, bias, y, stream, plan, workspace);
}
// TF32 on wgmma (v7, v9) where it runs, else on mma.sync (v4, v8).
cudaError_t launch_tf32_wgmma(const Conv2dGeom& p, const float* x, const float* w,
                              const float* bias, float* y, cudaStream_t stream,
                              split_k_plan plan = {1, 0}, float* workspace = nullptr) {
  if (!fprop_args_ok(p, x, w, y)) return cudaErrorInvalidValue;
  if (!conv2d_fprop_wgmma_runs(p))
    return launch_tf32_mma(p, x, w, bias, y, stream, plan, workspace);
  return detail::with_wgmma_tile(p.K, [&]<class T>() {
    return launch_implicit_gemm<T, true>(p, x, w, bias, y, stream, plan, workspace);
  });
}
}  // namespace

const char* conv2d_fprop_version_name(conv2d_fprop_version v) {
  switch (v) {
    case conv2d_fprop_version::v1_direct: return "v1_direct";
    case conv2d_fprop_version::v2_smem_tile: return "v2_smem_tile";
    case conv2d_fprop_version::v3_register_block: return "v3_register_block";
    case conv2d_fprop_version::v4_tf32_mma: return "v4_tf32_mma";
    case conv2d_fprop_version::v5_simt_128x128: return "v5_simt_128x128";
    case conv2d_fprop_version::v6_simt_split_k: return "v6_simt_split_k";
    case conv2d_fprop_version::v7_tf32_wgmma: return "v7_tf32_wgmma";
    case conv2d_fprop_version::v8_tf32_split_k: return "v8_tf32_split_k";
    case conv2d_fprop_version::v9_tf32_wgmma_split_k: return "v9_tf32_wgmma_split_k";
  }
  return "?";
}

split_k_plan conv2d_fprop_split_k_plan(const Conv2dGeom& p, conv2d_fprop_version v) {
  return plan_fprop(p, v);
}
int conv2d_fprop_splits(const Conv2dGeom& p, conv2d_fprop_version v) {
  return plan_fprop(p, v).splits;
}
int64_t conv2d_fprop_workspace_floats(conv2d_fprop_version v, const Conv2dGeom& p) {
  if (!conv2d_geom_valid(p)) return 0;
  const int splits = plan_fprop(p, v).splits;
  return splits == 1 ? 0 : int64_t(splits) * p.y_size();
}
conv2d_fprop_version conv2d_fprop_split_k_version(bool tf32, bool wgmma) {
  using V = conv2d_fprop_version;
  return !tf32 ? V::v6_simt_split_k : wgmma ? V::v9_tf32_wgmma_split_k : V::v8_tf32_split_k;
}

cudaError_t conv2d_fprop_v1_direct(Conv2dGeom p, const float* x, const float* w, const float* bias,
                                   float* y, cudaStream_t stream) {
  if (!fprop_args_ok(p, x, w, y)) return cudaErrorInvalidValue;
  const int64_t blocks = (p.y_size() + 255) / 256;
  return launch(conv2d_fprop_v1_direct_kernel, dim3(unsigned(blocks)), dim3(256), 0, stream, p, x,
                w, bias, y);
}
cudaError_t conv2d_fprop_v2_smem_tile(Conv2dGeom p, const float* x, const float* w,
                                      const float* bias, float* y, cudaStream_t stream) {
  return launch_implicit_gemm<detail::tile_16x16>(p, x, w, bias, y, stream);
}
cudaError_t conv2d_fprop_v3_register_block(Conv2dGeom p, const float* x, const float* w,
                                           const float* bias, float* y, cudaStream_t stream) {
  return launch_implicit_gemm<detail::tile_64x64>(p, x, w, bias, y, stream);
}
cudaError_t conv2d_fprop_v4_tf32_mma(Conv2dGeom p, const float* x, const float* w,
                                     const float* bias, float* y, cudaStream_t stream) {
  return launch_tf32_mma(p, x, w, bias, y, stream);
}
bool conv2d_fprop_wgmma_runs(const Conv2dGeom& p) {
  return p.C % detail::tile_wgmma_128x128::BK == 0 && wgmma_available();
}
cudaError_t conv2d_fprop_v7_tf32_wgmma(Conv2dGeom p, const float* x, const float* w,
                                       const float* bias, float* y, cudaStream_t stream) {
  return launch_tf32_wgmma(p, x, w, bias, y, stream);
}
cudaError_t conv2d_fprop_v5_simt_128x128(Conv2dGeom p, const float* x, const float* w,
                                         const float* bias, float* y, cudaStream_t stream) {
  return launch_implicit_gemm<tile_simt_128x128>(p, x, w, bias, y, stream);
}
cudaError_t conv2d_fprop_v6_simt_split_k(Conv2dGeom p, const float* x, const float* w,
                                         const float* bias, float* y, float* workspace,
                                         cudaStream_t stream) {
  return launch_implicit_gemm<tile_simt_128x128>(
      p, x, w, bias, y, stream, plan_fprop(p, conv2d_fprop_version::v6_simt_split_k), workspace);
}
cudaError_t conv2d_fprop_v8_tf32_split_k(Conv2dGeom p, const float* x, const float* w,
                                         const float* bias, float* y, float* workspace,
                                         cudaStream_t stream) {
  return launch_tf32_mma(p, x, w, bias, y, stream,
                         plan_fprop(p, conv2d_fprop_version::v8_tf32_split_k), workspace);
}
cudaError_t conv2d_fprop_v9_tf32_wgmma_split_k(Conv2dGeom p, const float* x, const float* w,
                                               const float* bias, float* y, float* workspace,
                                               cudaStream_t stream) {
  return launch_tf32_wgmma(p, x, w, bias, y, stream,
                           plan_fprop(p, conv2d_fprop_version::v9_tf32_wgmma_split_k), workspace);
}

cudaError_t conv2d_fprop(conv2d_fprop_version v, Conv2dGeom p, const float* x, const float* w,
                         const float* bias, float* y, cudaStream_t stream, float* workspace) {
  switch (v) {
    case conv2d_fprop_version::v1_direct: return conv2d_fprop_v1_direct(p, x, w, bias, y, stream);
    case conv2d_fprop_version::v2_smem_tile:
      return conv2d_fprop_v2_smem_tile(p, x, w, bias, y, stream);
    case conv2d_fprop_version::v3_register_block:
      return conv2d_fprop_v3_register_block(p, x, w, bias, y, stream);
    case conv2d_fprop_version::v4_tf32_mma:
      return conv2d_fprop_v4_tf32_mma(p, x, w, bias, y, stream);
    case conv2d_fprop_version::v5_simt_128x128:
      return conv2d_fprop_v5_simt_128x128(p, x, w, bias, y, stream);
    case conv2d_fprop_version::v6_simt_split_k:
      return conv2d_fprop_v6_simt_split_k(p, x, w, bias, y, workspace, stream);
    case conv2d_fprop_version::v7_tf32_wgmma:
      return conv2d_fprop_v7_tf32_wgmma(p, x, w, bias, y, stream);
    case conv2d_fprop_version::v8_tf32_split_k:
      return conv2d_fprop_v8_tf32_split_k(p, x, w, bias, y, workspace, stream);
    case conv2d_fprop_version::v9_tf32_wgmma_split_k:
      return conv2d_fprop_v9_tf32_wgmma_split_k(p, x, w, bias, y, workspace, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace senet
