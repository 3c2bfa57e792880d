// kernels/conv2d_wgrad.cu — conv2d weight gradient (wgrad)
// Math (NCHW; x: N×C×H×W, dy: N×K×P×Q, dw: K×C×R×S):
//   dw[k,c,r,s] = Σ_{n,p,q} dy[n,k,p,q] · x[n, c, p·stride−pad+r, q·stride−pad+s]   (0 outside)
// Implicit GEMM: GEMM_M = K, GEMM_N = C·R·S, GEMM_K = N·P·Q;
//   A[k, (n,p,q)] = dy[n,k,p,q], B[(n,p,q), (c,r,s)] = im2col(x). flops = 2·N·K·P·Q·C·R·S
//   The reduction axis N·P·Q is long and M×N = K×CRS small, so the GEMM is split along it.
// Versions:
//   v1_direct   one thread per dw element, loops n,p,q; block 256, grid ⌈K·C·R·S/256⌉.
//   v2_split_k  1. the shared main loop (kernels/implicit_gemm_tile.cuh), 64×64 tile, 4×4 per
//                  thread, over slice z of N·P·Q: block 256, grid (⌈K/64⌉, ⌈CRS/64⌉, splits);
//                  slice z's partial tile goes to workspace[z][K][CRS] (dw itself when splits = 1)
//               2. reduction dw[i] = Σ_z workspace[z][i], z ascending: block 256, grid ⌈KCRS/256⌉.
//               Deterministic (no atomics): the same bits on every run and every device.
//               splits = min(64, ⌈NPQ/256⌉) (slices of ≥ 256 GEMM_K rows, a multiple of BK = 8).
//   v3_tf32_split_k  v2 with step 1 on TF32 tensor cores (kernels/implicit_gemm_mma.cuh): 64×128
//               tile (K is the short side), 8 warps of 32×32; grid (⌈K/64⌉, ⌈CRS/128⌉, splits);
//               when K ≥ 128 (not folded), the 128×128 tile, 8 warps of 64×32, ⌈K/128⌉ rows.
//   v4_simt_split_k  v2 with step 1 on the FP32 loop of conv2d_fprop v5 (implicit_gemm_simt.cuh):
//               128×128 tile, 8×8 per thread; grid (⌈K/128⌉, ⌈CRS/128⌉, splits). v3 and v4 gather
//               without division (kernels/conv_gather_fast.cuh) and read dy coalesced: consecutive
//               threads take consecutive pixels of one dy row (v2: of consecutive channels, P·Q
//               floats apart).
//   v5_tf32_wgmma    v3 on Hopper's warpgroup MMA (kernels/implicit_gemm_wgmma.cuh, as conv2d_fprop
//               v7): 128×128 tile of 2 warpgroups, dy's kk-fastest rows in the padded layout; when
//               K ≥ 128 and wgmma is available; else v3.
// Numerics: fp32 FMA chains within a slice, fp32 adds across slices. Exact for small integers
//   (bitwise equal to the CPU backend); for general inputs the grouping differs from the CPU's
//   (per image group), so compare with |a−b| ≤ 1e-5·max|ref| (a few ulp of each partial sum).
//   v3 rounds x and dy to TF32: exact on small integers, ~1e-3 relative on random data.
// Prologues (v3, v4, v5): x_act applies the previous layer's BN + activation to x as it is loaded
//   (kernels/conv_gather_act.cuh), dy_bn computes dy from this layer's da and y (the folded BN
//   backward, kernels/conv_gather_bn.cuh); either, both or neither.
#include "kernels/conv2d_wgrad.h"

#include "kernels/conv_gather_act.cuh"
#include "kernels/conv_gather_bn.cuh"
#include "kernels/emu/cuda_compat.h"
#include "kernels/implicit_gemm.cuh"
#include "kernels/wgmma_available.h"

namespace senet {

// v3/v4 read dy along its rows (kernels/implicit_gemm_loader.cuh: a_kk_fastest), not PQ apart.
static_assert(detail::a_kk_fastest<detail::conv2d_wgrad_gather_fast>() &&
                  !detail::a_kk_fastest<detail::conv2d_fprop_gather_fast>(),
              "wgrad's A is read kk-fastest, fprop's m-fastest");

__global__ void conv2d_wgrad_v1_direct_kernel(Conv2dGeom p, const float* __restrict__ x,
                                              const float* __restrict__ dy,
                                              float* __restrict__ dw) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= p.w_size()) return;
  const int s = int(i % p.S), r = int(i / p.S % p.R), c = int(i / (int64_t(p.R) * p.S) % p.C);
  const int k = int(i / (int64_t(p.R) * p.S * p.C));
  float acc = 0.0f;
  for (int n = 0; n < p.N; ++n)
    for (int pp = 0; pp < p.P; ++pp) {
      const int h = pp * p.stride - p.pad + r;
      if (h < 0 || h >= p.H) continue;
      for (int q = 0; q < p.Q; ++q) {
        const int ww = q * p.stride - p.pad + s;
        if (ww < 0 || ww >= p.W) continue;
        acc = fmaf(dy[((int64_t(n) * p.K + k) * p.P + pp) * p.Q + q],
                   x[((int64_t(n) * p.C + c) * p.H + h) * p.W + ww], acc);
      }
    }
  dw[i] = acc;
}

namespace detail {
// wgrad's gathers: A = dy viewed as [K, N·P·Q], B = im2col(x) [N·P·Q, C·R·S].
struct conv2d_wgrad_gather {
  const float* __restrict__ x;
  const float* __restrict__ dy;
  int C, H, W, K, R, S, stride, pad, P, Q;
  __device__ __forceinline__ float a(int k, int m) const { return dy[nkpq_index(m, k, K, P * Q)]; }
  __device__ __forceinline__ float b(int m, int j) const {
    const int PQ = P * Q, n = m / PQ, pq = m - n * PQ, pp = pq / Q, q = pq - pp * Q;
    const int RS = R * S, c = j / RS, rs = j - c * RS, r = rs / S, s = rs - r * S;
    const int h = pp * stride - pad + r, ww = q * stride - pad + s;
    if (h < 0 || h >= H || ww < 0 || ww >= W) return 0.0f;
    return x[((int64_t(n) * C + c) * H + h) * W + ww];
  }
};

// The gather tile T reads dy and x with: the dividing one (v2) or the hoisting one (v3, v4).
template <class T>
auto wgrad_gather(const Conv2dGeom& p, const float* x, const float* dy) {
  if constexpr (T::hoisted)
    return conv2d_wgrad_gather_fast::make(p, x, dy);
  else
    return conv2d_wgrad_gather{x, dy, p.C, p.H, p.W, p.K, p.R, p.S, p.stride, p.pad, p.P, p.Q};
}
}  // namespace detail

// T: the tile; G: its gather of dy and x (wgrad_gather<T>, built on the host).
template <class T, class G>
__global__ void __launch_bounds__(T::threads, detail::min_blocks<T>())
    conv2d_wgrad_split_k_kernel(Conv2dGeom p, G g, float* __restrict__ out, int slice) {
  __align__(16) __shared__ float As[T::smem_a];
  __align__(16) __shared__ float Bs[T::smem_b];
  const int tid = int(threadIdx.x);
  const int m0 = int(blockIdx.x) * T::BM, n0 = int(blockIdx.y) * T::BN;
  const int CRS = int(p.gemm_k()), NPQ = int(p.gemm_m());
  const int k_begin = int(blockIdx.z) * slice, k_end = min(NPQ, k_begin + slice);
  float acc[T::TM][T::TN];
  detail::tile_mainloop<T>(tid, m0, n0, p.K, CRS, k_begin, k_end, g, As, Bs, acc);
  const detail::tile_thread<T> th(tid);
  float* part = out + int64_t(blockIdx.z) * p.K * CRS;
#pragma unroll
  for (int i = 0; i < T::TM; ++i) {
    const int k = m0 + th.row(i);
    if (k >= p.K) continue;
#pragma unroll
    for (int j = 0; j < T::TN; ++j) {
      const int crs = n0 + th.col(j);
      if (crs < CRS) part[int64_t(k) * CRS + crs] = acc[i][j];
    }
  }
}

__global__ void conv2d_wgrad_reduce_slices_kernel(const float* __restrict__ workspace, int splits,
                                                  int64_t n, float* __restrict__ dw) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float acc = 0.0f;
  for (int z = 0; z < splits; ++z) acc += workspace[int64_t(z) * n + i];
  dw[i] = acc;
}

namespace {
constexpr int kMinSlice = 256, kMaxSplits = 64;
struct wgrad_plan {
  int splits, slice;  // slice: GEMM_K rows per split, a multiple of BK = 8; no slice is empty
};
wgrad_plan plan_wgrad(const Conv2dGeom& p) {
  const int64_t npq = p.gemm_m();
  int64_t want = (npq + kMinSlice - 1) / kMinSlice;
  want = want < 1 ? 1 : want > kMaxSplits ? kMaxSplits : want;
  const int64_t slice = ((npq + want - 1) / want + 7) / 8 * 8;
  return {int((npq + slice - 1) / slice), int(slice)};
}
}  // namespace

int conv2d_wgrad_v2_splits(const Conv2dGeom& p) { return plan_wgrad(p).splits; }
int64_t conv2d_wgrad_v2_workspace_floats(const Conv2dGeom& p) {
  const int splits = plan_wgrad(p).splits;
  return splits == 1 ? 0 : int64_t(splits) * p.w_size();
}

const char* conv2d_wgrad_version_name(conv2d_wgrad_version v) {
  switch (v) {
    case conv2d_wgrad_version::v1_direct: return "v1_direct";
    case conv2d_wgrad_version::v2_split_k: return "v2_split_k";
    case conv2d_wgrad_version::v3_tf32_split_k: return "v3_tf32_split_k";
    case conv2d_wgrad_version::v4_simt_split_k: return "v4_simt_split_k";
    case conv2d_wgrad_version::v5_tf32_wgmma: return "v5_tf32_wgmma";
  }
  return "?";
}

cudaError_t conv2d_wgrad_v1_direct(Conv2dGeom p, const float* x, const float* dy, float* dw,
                                   cudaStream_t stream) {
  if (!conv2d_geom_valid(p) || !x || !dy || !dw) return cudaErrorInvalidValue;
  const int64_t blocks = (p.w_size() + 255) / 256;
  return launch(conv2d_wgrad_v1_direct_kernel, dim3(unsigned(blocks)), dim3(256), 0, stream, p, x,
                dy, dw);
}

namespace {
template <class T, class G>
cudaError_t launch_wgrad_slices(const Conv2dGeom& p, const G& g, dim3 grid, float* out, int slice,
                                cudaStream_t stream) {
  return launch(conv2d_wgrad_split_k_kernel<T, G>, grid, dim3(T::threads), 0, stream, p, g, out,
                slice);
}
// x_act, dy_bn active (hoisted tiles only): the prologue gathers (kernels/conv_gather_act.cuh,
// kernels/conv_gather_bn.cuh); with dy_bn the dy argument must be null. kNoFold: the caller has
// checked that dy_bn is not active (the folded gathers are not built for T).
template <class T, bool kNoFold = false>
cudaError_t launch_wgrad_split_k(const Conv2dGeom& p, const float* x, const float* dy, float* dw,
                                 float* workspace, cudaStream_t stream,
                                 const conv_input_act& x_act = {}, const conv_dy_bn& dy_bn = {}) {
  if (!conv2d_geom_valid(p) || !x || (dy != nullptr) == dy_bn.active() || !dw || !x_act.valid() ||
      !dy_bn.valid())
    return cudaErrorInvalidValue;
  const auto [splits, slice] = plan_wgrad(p);
  if (splits > 1 && !workspace) return cudaErrorInvalidValue;
  const int64_t gx = (p.K + T::BM - 1) / T::BM, gy = (p.gemm_k() + T::BN - 1) / T::BN;
  if (gy > 65535) return cudaErrorInvalidValue;
  float* out = splits == 1 ? dw : workspace;
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy),
                  static_cast<unsigned>(splits));
  cudaError_t e;
  if constexpr (T::hoisted) {
    using detail::conv2d_wgrad_gather_act, detail::conv2d_wgrad_gather_bn;
    const float* dy_src = dy_bn.active() ? dy_bn.da : dy;
    // g, or with dy_bn its folded gather (not built when kNoFold).
    const auto run = [&](const auto& g) {
      if constexpr (!kNoFold)
        if (dy_bn.active())
          return launch_wgrad_slices<T>(
              p, conv2d_wgrad_gather_bn<std::decay_t<decltype(g)>>::make(g, dy_bn), grid, out,
              slice, stream);
      return launch_wgrad_slices<T>(p, g, grid, out, slice, stream);
    };
    e = x_act.active() ? run(conv2d_wgrad_gather_act::make(p, x, dy_src, x_act))
                       : run(detail::wgrad_gather<T>(p, x, dy_src));
  } else {
    if (x_act.active() || dy_bn.active()) return cudaErrorInvalidValue;
    e = launch_wgrad_slices<T>(p, detail::wgrad_gather<T>(p, x, dy), grid, out, slice, stream);
  }
  if (e != cudaSuccess || splits == 1) return e;
  const int64_t n = p.w_size();
  return launch(conv2d_wgrad_reduce_slices_kernel, dim3(unsigned((n + 255) / 256)), dim3(256), 0,
                stream, workspace, splits, n, dw);
}
}  // namespace

cudaError_t conv2d_wgrad_v2_split_k(Conv2dGeom p, const float* x, const float* dy, float* dw,
                                    float* workspace, cudaStream_t stream) {
  return launch_wgrad_split_k<detail::tile_64x64>(p, x, dy, dw, workspace, stream);
}
cudaError_t conv2d_wgrad_v3_tf32_split_k(Conv2dGeom p, const float* x, const float* dy, float* dw,
                                         float* workspace, cudaStream_t stream,
                                         const conv_input_act& x_act, const conv_dy_bn& dy_bn) {
  if (!dy_bn.active() && p.K >= detail::tile_tf32_128x128::BM)  // the wide tile: 128 rows of dw
    return launch_wgrad_split_k<detail::tile_tf32_128x128, true>(p, x, dy, dw, workspace, stream,
                                                                 x_act);
  return launch_wgrad_split_k<detail::tile_tf32_64x128>(p, x, dy, dw, workspace, stream, x_act,
                                                        dy_bn);
}
bool conv2d_wgrad_wgmma_runs(const Conv2dGeom& p) {
  return p.K >= detail::tile_wgmma_128x128_kk::BM && wgmma_available();
}
cudaError_t conv2d_wgrad_v5_tf32_wgmma(Conv2dGeom p, const float* x, const float* dy, float* dw,
                                       float* workspace, cudaStream_t stream,
                                       const conv_input_act& x_act, const conv_dy_bn& dy_bn) {
  if (!conv2d_wgrad_wgmma_runs(p))
    return conv2d_wgrad_v3_tf32_split_k(p, x, dy, dw, workspace, stream, x_act, dy_bn);
  return launch_wgrad_split_k<detail::tile_wgmma_128x128_kk>(p, x, dy, dw, workspace, stream, x_act,
                                                             dy_bn);
}
cudaError_t conv2d_wgrad_v4_simt_split_k(Conv2dGeom p, const float* x, const float* dy, float* dw,
                                         float* workspace, cudaStream_t stream,
                                         const conv_input_act& x_act, const conv_dy_bn& dy_bn) {
  return launch_wgrad_split_k<detail::tile_simt_128x128>(p, x, dy, dw, workspace, stream, x_act,
                                                         dy_bn);
}

cudaError_t conv2d_wgrad(conv2d_wgrad_version v, Conv2dGeom p, const float* x, const float* dy,
                         float* dw, float* workspace, cudaStream_t stream) {
  switch (v) {
    case conv2d_wgrad_version::v1_direct: return conv2d_wgrad_v1_direct(p, x, dy, dw, stream);
    case conv2d_wgrad_version::v2_split_k:
      return conv2d_wgrad_v2_split_k(p, x, dy, dw, workspace, stream);
    case conv2d_wgrad_version::v3_tf32_split_k:
      return conv2d_wgrad_v3_tf32_split_k(p, x, dy, dw, workspace, stream);
    case conv2d_wgrad_version::v4_simt_split_k:
      return conv2d_wgrad_v4_simt_split_k(p, x, dy, dw, workspace, stream);
    case conv2d_wgrad_version::v5_tf32_wgmma:
      return conv2d_wgrad_v5_tf32_wgmma(p, x, dy, dw, workspace, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace senet
