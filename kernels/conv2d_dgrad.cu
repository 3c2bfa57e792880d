// kernels/conv2d_dgrad.cu — conv2d data gradient (dgrad): the adjoint of fprop with respect to x
// Math (NCHW; dy: N×K×P×Q, w: K×C×R×S, dx: N×C×H×W):
//   dx[n,c,h,w] = Σ_{k,r,s} dy[n,k,p,q] · w[k,c,r,s],  p = (h+pad−r)/stride, q = (w+pad−s)/stride,
//   taken only where the division is exact and 0 ≤ p < P, 0 ≤ q < Q (other taps read as zero).
// Implicit GEMM: GEMM_M = N·H·W (rows = input pixels), GEMM_N = C, GEMM_K = K·R·S;
//   A[(n,h,w), (k,r,s)] = dy at the tap above (0 when none), B[(k,r,s), c] = w[k,c,r,s].
//   flops = 2·N·K·P·Q·C·R·S useful (the gathered zeros of stride > 1 cost extra work, ~stride²×).
// Versions:
//   v1_direct          one thread per dx element; block 256, grid ⌈N·C·H·W/256⌉.
//   v2_register_block  the shared main loop (kernels/implicit_gemm_tile.cuh), 64×64 tile, 4×4 per
//                      thread, BK = 8; block 256, grid (⌈NHW/64⌉, ⌈C/64⌉).
//   v3_tf32_mma        the same kernel on TF32 tensor cores (kernels/implicit_gemm_mma.cuh),
//                      128×64 tile, 8 warps of 32×32; block 256, grid (⌈NHW/128⌉, ⌈C/64⌉); when
//                      C ≥ 128 and K is a multiple of 16 (folded too), the 128×128 tile, 8 warps
//                      of 64×32, grid (⌈NHW/128⌉, ⌈C/128⌉) (detail::tf32_wide).
//   v4_simt_128x128    FP32 on the CUDA-core loop of conv2d_fprop v5 (kernels/implicit_gemm_simt.cuh):
//                      128×128 tile, 8×8 per thread, LDS.128, two stages; block 256,
//                      grid (⌈NHW/128⌉, ⌈C/128⌉). v3 and v4 gather without division
//                      (kernels/conv_gather_fast.cuh).
//   v5_simt_phases     v4 without the zero taps of a strided conv: dx split into stride² phases
//                      (the pixels with (h + pad) mod σ = a, (w + pad) mod σ = b), each its own
//                      GEMM over only the taps r ≡ a, s ≡ b (mod σ) that reach it
//                      (conv2d_dgrad_phase_gather): for a 3×3 stride-2 conv 9/4 taps per pixel on
//                      average instead of 9, for a 1×1 stride-2 shortcut one phase of 4 has the
//                      tap and the other three are written as zeros. The phases ride on blockIdx.z;
//                      grid (⌈max phase rows/128⌉, ⌈C/128⌉, σ²), σ ≤ 4 (larger: v4). Same FMA chain
//                      as v4 minus its exact-zero terms.
//   v6_tf32_wgmma      v3's GEMM on Hopper's warpgroup MMA (kernels/implicit_gemm_wgmma.cuh, as
//                      conv2d_fprop v7): 2 warpgroups of 64 rows × 128 (C ≥ 128) or 64 columns,
//                      tap-major (K a multiple of 16); elsewhere v3.
//   v7_simt_split_k    v4 when its grid would leave SMs idle (< 264 blocks: ResNet-18's 16×16, 8×8
//                      and 4×4 layers at N = 128, 256, 128 and 64 blocks), as conv2d_fprop v6
//                      (kernels/split_k_plan.h): K·R·S cut into slices of ≥ 64 (multiple of BK = 8,
//                      ≤ 16 slices), slice z on blockIdx.z writes its partial dx to workspace[z];
//                      then one thread per dx element sums the slices in order z = 0, 1, …
//                      grid (⌈NHW/128⌉, ⌈C/128⌉, splits). Deterministic; extra traffic
//                      2·splits·|dx| floats. Stride 1 only: a strided conv runs v5 (whose phases
//                      drop the zero taps), an unsplit grid v4 itself.
//   v8_tf32_split_k    v3 split like v7 where its grid would leave SMs idle — the same rule on v3's
//                      grid (128×64, or 128×128 where tf32_wide) with BK = 16, the slices on v3's
//                      tiles and gathers, then the same in-order sum. splits = 1: v3 itself;
//                      strided: v10.
//   v9_tf32_wgmma_split_k  v6 split like v8 (the wgmma tiles have v3's shapes where they run);
//                      strided: v11; v8 where wgmma cannot run.
//   v10_tf32_phases    v5's phase GEMMs on v3's tiles: a strided TF32 dgrad without the zero taps
//                      (v3 gathers them: stride² times the useful products — on a 3×3 stride-2
//                      layer 4 phases of ~9/4 taps over a quarter of the rows each, instead of 9
//                      taps over all). Tap-major only (K a multiple of 16, every ResNet/WRN
//                      layer): other K, stride 1 (one phase, v3's GEMM) or > 4 run v3 — so that
//                      a plain and a folded dgrad take the same route (a k8 MMA group's sum
//                      order is the hardware's: dropping zero taps can change its bits).
//   v11_tf32_wgmma_phases  v10 on v6's wgmma tiles where they run (K a multiple of 16); else v10.
//   v3 to v11 with dy_bn (kernels/conv_dy_bn.h): dy is the BN backward of da and y, computed by the
//                      gather as it loads (kernels/conv_gather_bn.cuh); the dy tensor is never read.
//                      (v5 folds tap-major only; other K fold through v4.)
//   v3–v11 when K is a multiple of the tile's BK (8; TF32 16 — every ResNet/WRN layer): the
//                      reduction tap-major, (r,s,k) instead of (k,r,s), so that a slice lies in one
//                      tap and a thread decodes it once per slice (dgrad_gather_tap_major).
// Numerics: fp32, one FMA chain per element in ascending reduction order ((k,r,s), or (r,s,k)
//   tap-major; v5: the taps that exist; v7: one chain per slice, the slices summed in order): exact
//   for small integers, so every version equals the CPU backend (im2col + GEMM + col2im) bitwise
//   on such inputs (v3 too: such integers are TF32 values). On random data v3 is within ~1e-3
//   relative; v7, a different association, a few ulp from v4 (v8, v9 likewise from v3, v6).
#include "kernels/conv2d_dgrad.h"

#include <algorithm>
#include <type_traits>

#include "kernels/conv_gather_bn.cuh"
#include "kernels/emu/cuda_compat.h"
#include "kernels/implicit_gemm.cuh"
#include "kernels/split_k_sum.h"
#include "kernels/wgmma_available.h"

namespace senet {

__global__ void conv2d_dgrad_v1_direct_kernel(Conv2dGeom p, const float* __restrict__ dy,
                                              const float* __restrict__ w, float* __restrict__ dx) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= p.x_size()) return;
  const int ww = int(i % p.W), h = int(i / p.W % p.H), c = int(i / (int64_t(p.H) * p.W) % p.C);
  const int n = int(i / (int64_t(p.H) * p.W * p.C));
  float acc = 0.0f;
  for (int k = 0; k < p.K; ++k)
    for (int r = 0; r < p.R; ++r) {
      const int ph = h + p.pad - r;
      if (ph < 0 || ph % p.stride != 0 || ph / p.stride >= p.P) continue;
      for (int s = 0; s < p.S; ++s) {
        const int qw = ww + p.pad - s;
        if (qw < 0 || qw % p.stride != 0 || qw / p.stride >= p.Q) continue;
        acc = fmaf(dy[((int64_t(n) * p.K + k) * p.P + ph / p.stride) * p.Q + qw / p.stride],
                   w[((int64_t(k) * p.C + c) * p.R + r) * p.S + s], acc);
      }
    }
  dx[i] = acc;
}

namespace detail {
// dgrad's gathers: A = dy at the taps of (n,h,w) [N·H·W, K·R·S], B = w regrouped [K·R·S, C].
struct conv2d_dgrad_gather {
  const float* __restrict__ dy;
  const float* __restrict__ w;
  int C, H, W, K, R, S, stride, pad, P, Q;
  __device__ __forceinline__ float a(int m, int kk) const {
    const int HW = H * W, n = m / HW, hw = m - n * HW, h = hw / W, ww = hw - h * W;
    const int RS = R * S, k = kk / RS, rs = kk - k * RS, r = rs / S, s = rs - r * S;
    const int ph = h + pad - r, qw = ww + pad - s;
    if (ph < 0 || qw < 0 || ph % stride != 0 || qw % stride != 0) return 0.0f;
    const int pp = ph / stride, q = qw / stride;
    if (pp >= P || q >= Q) return 0.0f;
    return dy[((int64_t(n) * K + k) * P + pp) * Q + q];
  }
  __device__ __forceinline__ float b(int kk, int c) const {
    const int RS = R * S, k = kk / RS, rs = kk - k * RS;
    return w[(int64_t(k) * C + c) * RS + rs];
  }
};
// The gather tile T reads dy and w with: the dividing one (v2) or the hoisting one (v3, v4).
template <class T>
auto dgrad_gather(const Conv2dGeom& p, const float* dy, const float* w) {
  if constexpr (T::hoisted)
    return conv2d_dgrad_gather_fast::make(p, dy, w);
  else
    return conv2d_dgrad_gather{dy, w, p.C, p.H, p.W, p.K, p.R, p.S, p.stride, p.pad, p.P, p.Q};
}
}  // namespace detail

// T: the tile; G: its gather of dy and w (dgrad_gather<T>, built on the host).
template <class T, class G>
__global__ void __launch_bounds__(T::threads, detail::min_blocks<T>())
    conv2d_dgrad_implicit_gemm_kernel(Conv2dGeom p, G g, float* __restrict__ dx) {
  __align__(16) __shared__ float As[T::smem_a];
  __align__(16) __shared__ float Bs[T::smem_b];
  const int tid = int(threadIdx.x);
  const int m0 = int(blockIdx.x) * T::BM, n0 = int(blockIdx.y) * T::BN;
  const int M = p.N * p.H * p.W, KRS = p.K * p.R * p.S;
  float acc[T::TM][T::TN];
  detail::tile_mainloop<T>(tid, m0, n0, M, p.C, 0, KRS, g, As, Bs, acc);
  detail::store_tile_nchw<T>(tid, m0, n0, M, p.C, p.H * p.W, acc, dx);
}

// v7, v8, v9: slice z = blockIdx.z of GEMM_K = K·R·S (slices start at multiples of BK, so a tap-major
// slice lies in one tap); the partial tile goes to out + z·|dx| (NCHW like dx).
template <class T, class G>
__global__ void __launch_bounds__(T::threads, detail::min_blocks<T>())
    conv2d_dgrad_split_k_kernel(Conv2dGeom p, G g, float* __restrict__ out, int slice) {
  __align__(16) __shared__ float As[T::smem_a];
  __align__(16) __shared__ float Bs[T::smem_b];
  const int tid = int(threadIdx.x);
  const int m0 = int(blockIdx.x) * T::BM, n0 = int(blockIdx.y) * T::BN;
  const int M = p.N * p.H * p.W, KRS = p.K * p.R * p.S;
  const int k_begin = int(blockIdx.z) * slice, k_end = min(KRS, k_begin + slice);
  float acc[T::TM][T::TN];
  detail::tile_mainloop<T>(tid, m0, n0, M, p.C, k_begin, k_end, g, As, Bs, acc);
  detail::store_tile_nchw<T>(tid, m0, n0, M, p.C, p.H * p.W, acc,
                             out + int64_t(blockIdx.z) * p.x_size());
}

// v5, v10, v11: phase z = blockIdx.z of kMaxPhases gathers; blocks past the phase's rows have nothing to do.
inline constexpr int kMaxDgradPhases = 16;  // stride ≤ 4
template <class G>  // conv2d_dgrad_phase_gather, its tap-major form, or the fold of that
struct dgrad_phases {
  G g[kMaxDgradPhases];
};
static_assert(
    sizeof(
        dgrad_phases<detail::conv2d_dgrad_gather_tap_bn<detail::conv2d_dgrad_phase_gather_tap>>) <
        4000,
    "a kernel's parameters must fit 4 KB");
template <class T, class G>
__global__ void __launch_bounds__(T::threads, detail::min_blocks<T>())
    conv2d_dgrad_phase_kernel(Conv2dGeom p, dgrad_phases<G> ph, float* __restrict__ dx) {
  __align__(16) __shared__ float As[T::smem_a];
  __align__(16) __shared__ float Bs[T::smem_b];
  const G& g = ph.g[blockIdx.z];
  const int tid = int(threadIdx.x);
  const int m0 = int(blockIdx.x) * T::BM, n0 = int(blockIdx.y) * T::BN;
  if (m0 >= g.M) return;  // the whole block: this phase has fewer rows than the grid
  float acc[T::TM][T::TN];
  detail::tile_mainloop<T>(tid, m0, n0, g.M, p.C, 0, g.KRS, g, As, Bs, acc);
  const detail::tile_thread<T> th(tid);
#pragma unroll
  for (int i = 0; i < T::TM; ++i) {
    const int m = m0 + th.row(i);
    if (m >= g.M) continue;
    const int64_t base = g.dx_index(m, 0, p.H, p.W), cstride = int64_t(p.H) * p.W;
#pragma unroll
    for (int j = 0; j < T::TN; ++j) {
      const int c = n0 + th.col(j);
      if (c < p.C) dx[base + c * cstride] = acc[i][j];
    }
  }
}

namespace {
// dy_bn active: the gradient is computed from dy_bn's da and y, and dy must be null (not ignored).
bool dgrad_args_ok(const Conv2dGeom& p, const float* dy, const float* w, const float* dx,
                   const conv_dy_bn& dy_bn = {}) {
  // K·R·S is the GEMM depth here; it must fit int too.
  return conv2d_geom_valid(p) && (dy != nullptr) != dy_bn.active() && dy_bn.valid() && w && dx &&
         int64_t(p.K) * p.R * p.S < (int64_t(1) << 31);
}
}  // namespace

const char* conv2d_dgrad_version_name(conv2d_dgrad_version v) {
  switch (v) {
    case conv2d_dgrad_version::v1_direct: return "v1_direct";
    case conv2d_dgrad_version::v2_register_block: return "v2_register_block";
    case conv2d_dgrad_version::v3_tf32_mma: return "v3_tf32_mma";
    case conv2d_dgrad_version::v4_simt_128x128: return "v4_simt_128x128";
    case conv2d_dgrad_version::v5_simt_phases: return "v5_simt_phases";
    case conv2d_dgrad_version::v6_tf32_wgmma: return "v6_tf32_wgmma";
    case conv2d_dgrad_version::v7_simt_split_k: return "v7_simt_split_k";
    case conv2d_dgrad_version::v8_tf32_split_k: return "v8_tf32_split_k";
    case conv2d_dgrad_version::v9_tf32_wgmma_split_k: return "v9_tf32_wgmma_split_k";
    case conv2d_dgrad_version::v10_tf32_phases: return "v10_tf32_phases";
    case conv2d_dgrad_version::v11_tf32_wgmma_phases: return "v11_tf32_wgmma_phases";
  }
  return "?";
}

namespace {
using detail::tile_simt_128x128, detail::tile_tf32_128x128, detail::tile_tf32_128x64;
// The split of the version's GEMM (kernels/split_k_plan.h): v7 on v4's grid, v8 and v9 on v3's
// TF32 grid (v9's wgmma tiles have v3's shapes where they run: K a multiple of 16, 128 columns from
// C = 128); stride 1 only (the phases versions, v5, v10 and v11, run strided convs). Others, and
// bad geometry: none.
split_k_plan plan_dgrad(const Conv2dGeom& p, conv2d_dgrad_version v) {
  using V = conv2d_dgrad_version;
  const int64_t krs = int64_t(p.K) * p.R * p.S, nhw = int64_t(p.N) * p.H * p.W;
  if (!conv2d_geom_valid(p)) return {1, int(krs)};
  if (v == V::v7_simt_split_k && p.stride == 1) {
    using T = tile_simt_128x128;
    return plan_split_k(nhw, p.C, krs, T::BM, T::BN, T::BK);
  }
  if ((v == V::v8_tf32_split_k || v == V::v9_tf32_wgmma_split_k) && p.stride == 1) {
    using T = tile_tf32_128x64;
    const int bn = detail::tf32_wide(p.C, p.K) ? tile_tf32_128x128::BN : T::BN;
    return plan_split_k(nhw, p.C, krs, T::BM, bn, T::BK);
  }
  return {1, int(krs)};
}
}  // namespace

int conv2d_dgrad_splits(const Conv2dGeom& p, conv2d_dgrad_version v) {
  return plan_dgrad(p, v).splits;
}
int64_t conv2d_dgrad_workspace_floats(conv2d_dgrad_version v, const Conv2dGeom& p) {
  const int splits = plan_dgrad(p, v).splits;
  return splits == 1 ? 0 : int64_t(splits) * p.x_size();
}

cudaError_t conv2d_dgrad_v1_direct(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                   cudaStream_t stream) {
  if (!dgrad_args_ok(p, dy, w, dx)) return cudaErrorInvalidValue;
  const int64_t blocks = (p.x_size() + 255) / 256;
  return launch(conv2d_dgrad_v1_direct_kernel, dim3(unsigned(blocks)), dim3(256), 0, stream, p, dy,
                w, dx);
}

namespace {
// run(g) with dgrad's gather for tile T, built on the host. dy_bn active (hoisted tiles only): the
// folded BN backward's gather (kernels/conv_gather_bn.cuh). kTapOnly: the tap-major gathers only,
// plain or folded (the caller has checked p.K % T::BK == 0); else tap-major when K is a multiple
// of BK, the hoisting or the dividing gather otherwise.
template <class T, bool kTapOnly = false, class Run>
cudaError_t with_dgrad_gather(const Conv2dGeom& p, const float* dy, const float* w,
                              const conv_dy_bn& dy_bn, Run&& run) {
  if constexpr (T::hoisted) {
    using namespace detail;
    // tap-major: every slice inside one tap; plain or folded
    const auto run_tap = [&] {
      return dy_bn.active()
                 ? run(conv2d_dgrad_gather_tap_bn<conv2d_dgrad_gather_tap>::make(p, dy_bn, w))
                 : run(conv2d_dgrad_gather_tap::make(p, dy, w));
    };
    if constexpr (kTapOnly) {
      return run_tap();
    } else {
      if (p.K % T::BK == 0) return run_tap();
      if (dy_bn.active())
        return run(conv2d_dgrad_gather_bn<conv2d_dgrad_gather_fast>::make(p, dy_bn, w));
      return run(dgrad_gather<T>(p, dy, w));
    }
  } else {
    static_assert(!kTapOnly, "the tap-major gathers are the hoisting tiles'");
    if (dy_bn.active()) return cudaErrorInvalidValue;
    return run(detail::dgrad_gather<T>(p, dy, w));
  }
}

template <class T, bool kTapOnly = false>
cudaError_t launch_dgrad_implicit_gemm(const Conv2dGeom& p, const float* dy, const float* w,
                                       float* dx, cudaStream_t stream,
                                       const conv_dy_bn& dy_bn = {}) {
  if (!dgrad_args_ok(p, dy, w, dx, dy_bn)) return cudaErrorInvalidValue;
  const int64_t gx = (int64_t(p.N) * p.H * p.W + T::BM - 1) / T::BM, gy = (p.C + T::BN - 1) / T::BN;
  if (gy > 65535) return cudaErrorInvalidValue;
  const dim3 grid{unsigned(gx), unsigned(gy)};
  return with_dgrad_gather<T, kTapOnly>(p, dy, w, dy_bn, [&](const auto& g) {
    return launch(conv2d_dgrad_implicit_gemm_kernel<T, std::decay_t<decltype(g)>>, grid,
                  dim3(T::threads), 0, stream, p, g, dx);
  });
}

// Tile T's GEMM in plan.splits slices of K·R·S (slice z on blockIdx.z into workspace + z·|dx|),
// then their in-order sum (kernels/split_k_sum.h); one slice: the unsplit kernel.
template <class T, bool kTapOnly = false>
cudaError_t launch_dgrad_split_k(const Conv2dGeom& p, split_k_plan plan, const float* dy,
                                 const float* w, float* dx, float* workspace, cudaStream_t stream,
                                 const conv_dy_bn& dy_bn) {
  if (plan.splits == 1) return launch_dgrad_implicit_gemm<T, kTapOnly>(p, dy, w, dx, stream, dy_bn);
  if (!dgrad_args_ok(p, dy, w, dx, dy_bn) || !workspace) return cudaErrorInvalidValue;
  const int64_t gx = (int64_t(p.N) * p.H * p.W + T::BM - 1) / T::BM, gy = (p.C + T::BN - 1) / T::BN;
  if (gy > 65535) return cudaErrorInvalidValue;
  const dim3 grid{unsigned(gx), unsigned(gy), unsigned(plan.splits)};
  const cudaError_t e = with_dgrad_gather<T, kTapOnly>(p, dy, w, dy_bn, [&](const auto& g) {
    return launch(conv2d_dgrad_split_k_kernel<T, std::decay_t<decltype(g)>>, grid, dim3(T::threads),
                  0, stream, p, g, workspace, plan.slice);
  });
  if (e != cudaSuccess) return e;
  split_k_sum_params sp;  // in order z = 0, 1, … (kernels/split_k_sum.h)
  sp.workspace = workspace, sp.splits = plan.splits, sp.n = p.x_size(), sp.out = dx;
  return split_k_sum(sp, stream);
}
// TF32 on mma.sync (v3, v8): the wide tile where detail::tf32_wide, else 128×64.
cudaError_t launch_dgrad_tf32_mma(const Conv2dGeom& p, const float* dy, const float* w, float* dx,
                                  cudaStream_t stream, const conv_dy_bn& dy_bn,
                                  split_k_plan plan = {1, 0}, float* workspace = nullptr) {
  if (detail::tf32_wide(p.C, p.K))
    return launch_dgrad_split_k<tile_tf32_128x128, true>(p, plan, dy, w, dx, workspace, stream,
                                                         dy_bn);
  return launch_dgrad_split_k<tile_tf32_128x64>(p, plan, dy, w, dx, workspace, stream, dy_bn);
}
// TF32 on wgmma (v6, v9) where it runs, else on mma.sync (v3, v8).
cudaError_t launch_dgrad_tf32_wgmma(const Conv2dGeom& p, const float* dy, const float* w, float* dx,
                                    cudaStream_t stream, const conv_dy_bn& dy_bn,
                                    split_k_plan plan = {1, 0}, float* workspace = nullptr) {
  if (!conv2d_dgrad_wgmma_runs(p))
    return launch_dgrad_tf32_mma(p, dy, w, dx, stream, dy_bn, plan, workspace);
  return detail::with_wgmma_tile(p.C, [&]<class T>() {
    return launch_dgrad_split_k<T, true>(p, plan, dy, w, dx, workspace, stream, dy_bn);
  });
}

template <class T, class G, class Make>
cudaError_t launch_dgrad_phases(const Conv2dGeom& p, float* dx, cudaStream_t stream,
                                const Make& make) {
  const int sg = p.stride;
  dgrad_phases<G> ph{};
  int64_t rows = 0;
  for (int a = 0; a < sg; ++a)
    for (int b = 0; b < sg; ++b) {
      ph.g[a * sg + b] = make(a, b);
      rows = std::max<int64_t>(rows, ph.g[a * sg + b].M);
    }
  const int64_t gx = (rows + T::BM - 1) / T::BM, gy = (p.C + T::BN - 1) / T::BN;
  if (gy > 65535) return cudaErrorInvalidValue;
  return launch(conv2d_dgrad_phase_kernel<T, G>,
                dim3(unsigned(gx), unsigned(gy), unsigned(sg * sg)), dim3(T::threads), 0, stream, p,
                ph, dx);
}
}  // namespace

cudaError_t conv2d_dgrad_v2_register_block(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                           cudaStream_t stream) {
  return launch_dgrad_implicit_gemm<detail::tile_64x64>(p, dy, w, dx, stream);
}
cudaError_t conv2d_dgrad_v3_tf32_mma(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                     cudaStream_t stream, const conv_dy_bn& dy_bn) {
  return launch_dgrad_tf32_mma(p, dy, w, dx, stream, dy_bn);
}
bool conv2d_dgrad_wgmma_runs(const Conv2dGeom& p) {
  return p.K % detail::tile_wgmma_128x128::BK == 0 && wgmma_available();
}
cudaError_t conv2d_dgrad_v6_tf32_wgmma(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                       cudaStream_t stream, const conv_dy_bn& dy_bn) {
  return launch_dgrad_tf32_wgmma(p, dy, w, dx, stream, dy_bn);
}
cudaError_t conv2d_dgrad_v4_simt_128x128(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                         cudaStream_t stream, const conv_dy_bn& dy_bn) {
  return launch_dgrad_implicit_gemm<detail::tile_simt_128x128>(p, dy, w, dx, stream, dy_bn);
}

namespace {
// The stride² phase GEMMs of a strided dgrad on tile T (v5: the SIMT tile; v10, v11: the TF32
// ones). K a multiple of T::BK: the tap-major phase gathers, plain or folded; other K (never with
// kTapOnly) the hoisting one, and a fold there runs unphased() instead (on the SIMT tile its zero
// taps add exact zeros to the FMA chain: the same sums). The caller has checked the arguments and
// stride² ≤ kMaxDgradPhases (v5 runs stride 1 too: one phase).
template <class T, bool kTapOnly, class Unphased>
cudaError_t run_dgrad_phases(const Conv2dGeom& p, const float* dy, const float* w, float* dx,
                             cudaStream_t stream, const conv_dy_bn& dy_bn,
                             const Unphased& unphased) {
  using namespace detail;
  // G::make(p, src, w, a, b) for each phase (a, b), src: dy or dy_bn.
  const auto run = [&]<class G>(const auto& src) {
    return launch_dgrad_phases<T, G>(p, dx, stream,
                                     [&](int a, int b) { return G::make(p, src, w, a, b); });
  };
  if (kTapOnly || p.K % T::BK == 0)  // tap-major: every slice inside one tap
    return dy_bn.active()
               ? run.template operator()<conv2d_dgrad_gather_tap_bn<conv2d_dgrad_phase_gather_tap>>(
                     dy_bn)
               : run.template operator()<conv2d_dgrad_phase_gather_tap>(dy);
  if constexpr (!kTapOnly) {
    if (dy_bn.active()) return unphased();
    return run.template operator()<conv2d_dgrad_phase_gather>(dy);
  }
  return cudaErrorInvalidValue;  // not reached
}
}  // namespace

cudaError_t conv2d_dgrad_v5_simt_phases(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                        cudaStream_t stream, const conv_dy_bn& dy_bn) {
  if (!dgrad_args_ok(p, dy, w, dx, dy_bn)) return cudaErrorInvalidValue;
  const auto v4 = [&] { return conv2d_dgrad_v4_simt_128x128(p, dy, w, dx, stream, dy_bn); };
  if (p.stride * p.stride > kMaxDgradPhases) return v4();
  return run_dgrad_phases<tile_simt_128x128, false>(p, dy, w, dx, stream, dy_bn, v4);
}

cudaError_t conv2d_dgrad_v10_tf32_phases(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                         cudaStream_t stream, const conv_dy_bn& dy_bn) {
  if (!dgrad_args_ok(p, dy, w, dx, dy_bn)) return cudaErrorInvalidValue;
  const auto v3 = [&] { return conv2d_dgrad_v3_tf32_mma(p, dy, w, dx, stream, dy_bn); };
  // Tap-major only (K a multiple of 16): on the tensor cores a k8 group sums its products in the
  // hardware's own order, so dropping zero taps changes the bits — the plain and the folded dgrad
  // of one layer must take the same route, and v5's hoisting-gather route folds through v3.
  if (p.stride == 1 || p.stride * p.stride > kMaxDgradPhases || p.K % tile_tf32_128x64::BK != 0)
    return v3();
  if (detail::tf32_wide(p.C, p.K))
    return run_dgrad_phases<tile_tf32_128x128, true>(p, dy, w, dx, stream, dy_bn, v3);
  return run_dgrad_phases<tile_tf32_128x64, true>(p, dy, w, dx, stream, dy_bn, v3);
}

cudaError_t conv2d_dgrad_v11_tf32_wgmma_phases(Conv2dGeom p, const float* dy, const float* w,
                                               float* dx, cudaStream_t stream,
                                               const conv_dy_bn& dy_bn) {
  if (!dgrad_args_ok(p, dy, w, dx, dy_bn)) return cudaErrorInvalidValue;
  if (!conv2d_dgrad_wgmma_runs(p)) return conv2d_dgrad_v10_tf32_phases(p, dy, w, dx, stream, dy_bn);
  const auto v6 = [&] { return conv2d_dgrad_v6_tf32_wgmma(p, dy, w, dx, stream, dy_bn); };
  if (p.stride == 1 || p.stride * p.stride > kMaxDgradPhases) return v6();
  return detail::with_wgmma_tile(p.C, [&]<class T>() {  // (K a multiple of 16: tap-major)
    return run_dgrad_phases<T, true>(p, dy, w, dx, stream, dy_bn, v6);
  });
}

cudaError_t conv2d_dgrad_v7_simt_split_k(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                         float* workspace, cudaStream_t stream,
                                         const conv_dy_bn& dy_bn) {
  if (!dgrad_args_ok(p, dy, w, dx, dy_bn)) return cudaErrorInvalidValue;
  if (p.stride != 1) return conv2d_dgrad_v5_simt_phases(p, dy, w, dx, stream, dy_bn);
  return launch_dgrad_split_k<tile_simt_128x128>(
      p, plan_dgrad(p, conv2d_dgrad_version::v7_simt_split_k), dy, w, dx, workspace, stream, dy_bn);
}
cudaError_t conv2d_dgrad_v8_tf32_split_k(Conv2dGeom p, const float* dy, const float* w, float* dx,
                                         float* workspace, cudaStream_t stream,
                                         const conv_dy_bn& dy_bn) {
  if (!dgrad_args_ok(p, dy, w, dx, dy_bn)) return cudaErrorInvalidValue;
  if (p.stride != 1) return conv2d_dgrad_v10_tf32_phases(p, dy, w, dx, stream, dy_bn);
  return launch_dgrad_tf32_mma(p, dy, w, dx, stream, dy_bn,
                               plan_dgrad(p, conv2d_dgrad_version::v8_tf32_split_k), workspace);
}
cudaError_t conv2d_dgrad_v9_tf32_wgmma_split_k(Conv2dGeom p, const float* dy, const float* w,
                                               float* dx, float* workspace, cudaStream_t stream,
                                               const conv_dy_bn& dy_bn) {
  if (!dgrad_args_ok(p, dy, w, dx, dy_bn)) return cudaErrorInvalidValue;
  if (p.stride != 1) return conv2d_dgrad_v11_tf32_wgmma_phases(p, dy, w, dx, stream, dy_bn);
  return launch_dgrad_tf32_wgmma(p, dy, w, dx, stream, dy_bn,
                                 plan_dgrad(p, conv2d_dgrad_version::v9_tf32_wgmma_split_k),
                                 workspace);
}

cudaError_t conv2d_dgrad(conv2d_dgrad_version v, Conv2dGeom p, const float* dy, const float* w,
                         float* dx, cudaStream_t stream, float* workspace,
                         const conv_dy_bn& dy_bn) {
  using V = conv2d_dgrad_version;
  const conv_dy_bn& d = dy_bn;
  switch (v) {
    case V::v1_direct:
      return d.active() ? cudaErrorInvalidValue : conv2d_dgrad_v1_direct(p, dy, w, dx, stream);
    case V::v2_register_block:
      return d.active() ? cudaErrorInvalidValue
                        : conv2d_dgrad_v2_register_block(p, dy, w, dx, stream);
    case V::v3_tf32_mma: return conv2d_dgrad_v3_tf32_mma(p, dy, w, dx, stream, d);
    case V::v4_simt_128x128: return conv2d_dgrad_v4_simt_128x128(p, dy, w, dx, stream, d);
    case V::v5_simt_phases: return conv2d_dgrad_v5_simt_phases(p, dy, w, dx, stream, d);
    case V::v6_tf32_wgmma: return conv2d_dgrad_v6_tf32_wgmma(p, dy, w, dx, stream, d);
    case V::v7_simt_split_k:
      return conv2d_dgrad_v7_simt_split_k(p, dy, w, dx, workspace, stream, d);
    case V::v8_tf32_split_k:
      return conv2d_dgrad_v8_tf32_split_k(p, dy, w, dx, workspace, stream, d);
    case V::v9_tf32_wgmma_split_k:
      return conv2d_dgrad_v9_tf32_wgmma_split_k(p, dy, w, dx, workspace, stream, d);
    case V::v10_tf32_phases: return conv2d_dgrad_v10_tf32_phases(p, dy, w, dx, stream, d);
    case V::v11_tf32_wgmma_phases:
      return conv2d_dgrad_v11_tf32_wgmma_phases(p, dy, w, dx, stream, d);
  }
  return cudaErrorInvalidValue;
}

}  // namespace senet
