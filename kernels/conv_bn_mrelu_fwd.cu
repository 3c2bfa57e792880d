// kernels/conv_bn_mrelu_fwd.cu — training forward: conv2d → BatchNorm (batch stats) → masked ReLU;
// and the inference forward with BN folded into the conv (one kernel).
// Math (NCHW; x: N×C×H×W, w: K×C×R×S; y, z, a: N×K×P×Q; M = N·P·Q values per channel):
//   y = cross-correlation(x, w), zero padding;  μ_k = Σy/M;  σ²_k = Σ(y−μ_k)²/M (biased)
//   z = γ_k (y−μ_k)/√(σ²_k+ε) + β_k = scale_k·y + shift_k;  a = m ? max(z,0) : z, m per (k,p,q) or k
// Saved for backward: x, y, μ, 1/σ, bits p = !m || z > 0 (1 bit per element; kernels/kernel_params.h)
// Implicit GEMM: GEMM_M = N·P·Q, GEMM_N = K, GEMM_K = C·R·S. flops = 2·N·K·P·Q·C·R·S
// Launches (training):
//   1 conv2d_fprop_bn_partials: the main loop of conv2d_fprop v5 (FP32: 128×128 tile, 8×8 per
//     thread) or, with params.tf32, of v4 (TF32 tensor cores: 128×64 or 128×128 tile), or with
//     params.wgmma too of v7 (Hopper's warpgroup MMA); block 256, grid (⌈NPQ/128⌉, ⌈K/BN⌉).
//     Epilogue: store y, then, while the tile is still in registers, per-channel partials over
//     the block's (≤ 128) valid rows — two passes through shared memory: column sums → block
//     mean, then Σ(y − block mean)² → M2 (each pass: a thread's rows, then its row group's by warp
//     shuffles on the tensor-core tiles, then the groups in order). Written to partial
//     t = blockIdx.x of channel k. No separate statistics pass over y.
//   2 bn_finalize_train: Chan merge of the ⌈NPQ/128⌉ partials per channel (in order, in double)
//     → μ, 1/σ, scale, shift, running stats.
//   3 scale_shift_mrelu: a = act(scale·y + shift (+ residual)), pass bits by warp ballot.
//   Memory passes over N×K×P×Q: write y (1), read y + write a (3): vs 1 + 2 + 2 + 2 unfused
//   (conv, stats, normalise, activation).
//   On a grid that would leave SMs idle (conv2d_fprop_splits > 1 for the math's split version,
//   conv2d_fprop_split_k_version: v6 FP32, v8 TF32, v9 wgmma; ResNet-18's 4×4 layers at N = 128
//   fill 64 blocks of 132 SMs): launch 1 is that version's split-K instead (the prologue conv's,
//   kernels/conv2d_fprop_act.h, with x_act; kernels/conv2d_fprop_kernels.cuh), then
//   bn_stats_partials reads y once more (per-1024-value partials) — a pass over a small y for a
//   grid that fills the GPU; y then equals conv2d_fprop v6's (v8's, v9's) bitwise, and the
//   statistics the unfused chain's (conv2d → bn_act).
// Prologue fusion (issue 16, item 3; kernels/conv_input_act.h): t.x_act makes launch 1 read the
//   previous layer's y and apply its act(scale·y + shift) while loading (the gather of
//   kernels/conv_gather_act.cuh), and t.lazy skips launch 3, leaving this layer's own
//   activation to the next conv: per layer, write y + read y instead of write y, read y, write a,
//   read a (kernels/README.md, step 8).
// Launch (inference): conv_bn_fold (one thread per weight) once per model, then one kernel:
//   the same main loop with epilogue a = act(acc + b_folded[k]) — y and z never touch memory.
// Versions: the epilogues are written once for every tile (kernels/implicit_gemm.cuh); v1/v2 of
//   the fused path would be the unfused chain (conv2d_fprop + bn_stats + bn_finalize + ...),
//   which the tests run as the reference. Until 2026-12 the FP32 loop was v3's 64×64 tile.
// Numerics: fp32 conv (TF32 operands with params.tf32). Block partials are two-pass (stable for
//   |μ| ≫ σ) and merged with Chan's formula in double: never Σy²/M − μ². Folding rounds w·γ/σ once
//   per weight, so the inference kernel differs from the training formula by a few ulps (tests:
//   1e-5 relative to max|a|).
#include "kernels/conv_bn_mrelu_fwd.h"

#include <type_traits>

#include "kernels/bn_stats.h"
#include "kernels/conv2d_fprop.h"
#include "kernels/conv2d_fprop_act.h"
#include "kernels/conv_gather_act.cuh"
#include "kernels/emu/cuda_compat.h"
#include "kernels/implicit_gemm.cuh"
#include "kernels/warp_reduce.cuh"

namespace senet {

using conv_bn_tile = detail::tile_simt_128x128;            // FP32 (conv2d_fprop v5)
using conv_bn_tile_tf32 = detail::tile_tf32_128x64;        // TF32 (conv2d_fprop v4)
using conv_bn_tile_tf32_wide = detail::tile_tf32_128x128;  // TF32 when detail::tf32_wide
// TF32 with wgmma: conv2d_fprop v7's tiles (detail::with_wgmma_tile)
static_assert(conv_bn_tile::BM == conv_bn_tile_tf32::BM &&
                  conv_bn_tile::BM == conv_bn_tile_tf32_wide::BM &&
                  conv_bn_tile::BM == detail::tile_wgmma_128x64::BM &&
                  conv_bn_tile::BM == detail::tile_wgmma_128x128::BM,
              "one partial count for every tile");

namespace {
// The column sums of the BN partials meet in shared memory as one row per row group: for the
// SIMT tile its TY row slots (th.tm); for a tensor-core tile its WARPS_M warp rows (th.warp_m),
// the 8 row slots inside a warp (lanes g = lane/4, the same columns) summed first by three
// shuffles. red then takes WARPS_M·BN floats: 4 KB for the wgmma tile instead of 32, which with
// its 36 KB of stages would pass the 48 KB a block may declare.
template <class T>
constexpr SENET_HD int bn_row_groups() {
  if constexpr (T::tensor_core)
    return T::WARPS_M;
  else
    return T::TY;
}
// s: this thread's sum over its rows of one column → its row group's (meaningful in the group's
// writer, bn_group_writer). Every lane of the warp calls it.
template <class T>
__device__ __forceinline__ float bn_group_sum(float s) {
  if constexpr (T::tensor_core)
    return kred::warp_sum_strided<4>(s);  // the lanes of one t = lane mod 4
  else
    return s;
}
template <class T>
__device__ __forceinline__ int bn_group(const detail::tile_thread<T>& th) {
  if constexpr (T::tensor_core)
    return th.warp_m;
  else
    return th.tm;
}
template <class T>
__device__ __forceinline__ bool bn_group_writer(const detail::tile_thread<T>& th) {
  if constexpr (T::tensor_core)
    return th.g == 0;
  else
    return true;
}
}  // namespace

// T: any tile. A thread's accumulators are rows th.row(i), columns th.col(j); the writers of one
// row group own disjoint columns, so red[group][column] is race-free.
template <class T, class G>
__global__ void __launch_bounds__(T::threads, detail::min_blocks<T>())
    conv2d_fprop_bn_partials_kernel(Conv2dGeom p, G g, float* __restrict__ y, bn_partials out) {
  constexpr int kGroups = bn_row_groups<T>();
  __align__(16) __shared__ float As[T::smem_a];
  __align__(16) __shared__ float Bs[T::smem_b];
  __shared__ float red[kGroups * T::BN];  // per (row group, column) partial sums
  __shared__ float col_mean[T::BN];
  const int tid = int(threadIdx.x);
  const int m0 = int(blockIdx.x) * T::BM, n0 = int(blockIdx.y) * T::BN;
  const int M = int(p.gemm_m()), CRS = int(p.gemm_k()), PQ = p.P * p.Q;
  float acc[T::TM][T::TN];
  detail::tile_mainloop<T>(tid, m0, n0, M, p.K, 0, CRS, g, As, Bs, acc);
  const detail::tile_thread<T> th(tid);

  // Epilogue 1: store y; column sums of the valid rows.
  bool valid[T::TM];
#pragma unroll
  for (int i = 0; i < T::TM; ++i) valid[i] = m0 + th.row(i) < M;
#pragma unroll
  for (int j = 0; j < T::TN; ++j) {
    const int k = n0 + th.col(j);
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < T::TM; ++i) {
      if (!valid[i]) continue;
      s += acc[i][j];
      if (k < p.K) y[detail::nkpq_index(m0 + th.row(i), k, p.K, PQ)] = acc[i][j];
    }
    s = bn_group_sum<T>(s);
    if (bn_group_writer<T>(th)) red[bn_group<T>(th) * T::BN + th.col(j)] = s;
  }
  __syncthreads();
  const int rows = min(T::BM, M - m0);
  if (tid < T::BN) {
    float s = 0.0f;
    for (int r = 0; r < kGroups; ++r) s += red[r * T::BN + tid];
    col_mean[tid] = s / float(rows);
  }
  __syncthreads();
  // Epilogue 2: Σ(y − block mean)² per column.
#pragma unroll
  for (int j = 0; j < T::TN; ++j) {
    const float mu = col_mean[th.col(j)];
    float d2 = 0.0f;
#pragma unroll
    for (int i = 0; i < T::TM; ++i) {
      if (!valid[i]) continue;
      const float d = acc[i][j] - mu;
      d2 = fmaf(d, d, d2);
    }
    d2 = bn_group_sum<T>(d2);
    if (bn_group_writer<T>(th)) red[bn_group<T>(th) * T::BN + th.col(j)] = d2;
  }
  __syncthreads();
  if (tid < T::BN && n0 + tid < p.K) {
    float m2 = 0.0f;
    for (int r = 0; r < kGroups; ++r) m2 += red[r * T::BN + tid];
    const int64_t o = int64_t(blockIdx.x) * p.K + n0 + tid;
    out.count[o] = float(rows);
    out.mean[o] = col_mean[tid];
    out.m2[o] = m2;
  }
}

template <class T, class G>
__global__ void __launch_bounds__(T::threads, detail::min_blocks<T>())
    conv_bn_mrelu_infer_kernel(conv_bn_mrelu_fwd_params fp, G g, const float* __restrict__ bias,
                               const uint8_t* __restrict__ mask, const float* __restrict__ residual,
                               float* __restrict__ a) {
  __align__(16) __shared__ float As[T::smem_a];
  __align__(16) __shared__ float Bs[T::smem_b];
  const Conv2dGeom& p = fp.conv;
  const int tid = int(threadIdx.x);
  const int m0 = int(blockIdx.x) * T::BM, n0 = int(blockIdx.y) * T::BN;
  const int M = int(p.gemm_m()), CRS = int(p.gemm_k()), PQ = p.P * p.Q;
  float acc[T::TM][T::TN];
  detail::tile_mainloop<T>(tid, m0, n0, M, p.K, 0, CRS, g, As, Bs, acc);
  const detail::tile_thread<T> th(tid);
#pragma unroll
  for (int i = 0; i < T::TM; ++i) {
    const int m = m0 + th.row(i);
    if (m >= M) continue;
    const int pq = m % PQ;
#pragma unroll
    for (int j = 0; j < T::TN; ++j) {
      const int k = n0 + th.col(j);
      if (k >= p.K) continue;
      const int64_t o = detail::nkpq_index(m, k, p.K, PQ);
      float z = acc[i][j] + bias[k];
      if (residual) z += residual[o];
      const bool relu = fp.act == Act::ReLU ||
                        (fp.act == Act::MaskedReLU &&
                         (fp.mask_per_channel ? mask[k] : mask[int64_t(k) * PQ + pq]) != 0);
      a[o] = relu && !(z > 0.0f) ? 0.0f : z;
    }
  }
}

__global__ void conv_bn_fold_kernel(Conv2dGeom p, float eps, const float* __restrict__ w,
                                    const float* __restrict__ gamma, const float* __restrict__ beta,
                                    const float* __restrict__ running_mean,
                                    const float* __restrict__ running_var,
                                    float* __restrict__ w_folded, float* __restrict__ b_folded) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= p.w_size()) return;
  const int64_t CRS = p.gemm_k();
  const int k = int(i / CRS);
  const float invstd = float(1.0 / sqrt(double(running_var[k]) + double(eps)));
  const float scale = gamma[k] * invstd;
  w_folded[i] = w[i] * scale;
  if (i - int64_t(k) * CRS == 0) b_folded[k] = beta[k] - running_mean[k] * scale;
}

namespace {
bool act_ok(const conv_bn_mrelu_fwd_params& p, const uint8_t* mask) {
  if (p.act != Act::None && p.act != Act::ReLU && p.act != Act::MaskedReLU) return false;
  return p.act != Act::MaskedReLU || mask != nullptr;
}
// The narrower tile (TF32's, 64 channels) sets the limit on K.
bool grid_ok(const Conv2dGeom& p) {
  return conv2d_geom_valid(p) && (p.K + conv_bn_tile_tf32::BN - 1) / conv_bn_tile_tf32::BN <= 65535;
}
// x_act active: the prologue gather (kernels/conv_gather_act.cuh), same kernel otherwise.
// kTapOnly: the tap-major gathers only (the caller has checked p.C % T::BK == 0).
template <class T, bool kTapOnly = false>
cudaError_t launch_bn_partials(const Conv2dGeom& p, const float* x, const float* w, float* y,
                               const bn_partials& out, cudaStream_t stream,
                               const conv_input_act& x_act = {}) {
  if (!grid_ok(p) || !x || !w || !y || !out.count || !out.mean || !out.m2 || !x_act.valid())
    return cudaErrorInvalidValue;
  const dim3 grid(unsigned((p.gemm_m() + T::BM - 1) / T::BM), unsigned((p.K + T::BN - 1) / T::BN));
  const auto run = [&](const auto& g) {
    return launch(conv2d_fprop_bn_partials_kernel<T, std::decay_t<decltype(g)>>, grid,
                  dim3(T::threads), 0, stream, p, g, y, out);
  };
  using detail::conv2d_fprop_gather_act, detail::fprop_gather_tap_major;
  if constexpr (kTapOnly) {
    return x_act.active()
               ? run(fprop_gather_tap_major<conv2d_fprop_gather_act>::make(p, x, w, x_act))
               : run(detail::conv2d_fprop_gather_tap::make(p, x, w));
  } else {
    if (x_act.active())
      return p.C % T::BK == 0  // tap-major (kernels/conv_gather_fast.cuh)
                 ? run(fprop_gather_tap_major<conv2d_fprop_gather_act>::make(p, x, w, x_act))
                 : run(conv2d_fprop_gather_act::make(p, x, w, x_act));
    return detail::with_fprop_gather<T>(p, x, w, run);
  }
}
// TF32: with wgmma where it runs (conv2d_fprop v7's rule and tiles), else the mma.sync tiles —
// the wide one where it applies (detail::tf32_wide), else 128×64.
cudaError_t launch_bn_partials_tf32(const Conv2dGeom& p, const float* x, const float* w, float* y,
                                    const bn_partials& out, cudaStream_t stream,
                                    const conv_input_act& x_act = {}, bool wgmma = false) {
  if (wgmma && conv2d_fprop_wgmma_runs(p))
    return detail::with_wgmma_tile(p.K, [&]<class T>() {
      return launch_bn_partials<T, true>(p, x, w, y, out, stream, x_act);
    });
  if (detail::tf32_wide(p.K, p.C))
    return launch_bn_partials<conv_bn_tile_tf32_wide, true>(p, x, w, y, out, stream, x_act);
  return launch_bn_partials<conv_bn_tile_tf32>(p, x, w, y, out, stream, x_act);
}
}  // namespace

int64_t conv2d_fprop_bn_partials_count(const Conv2dGeom& p) {
  return (p.gemm_m() + conv_bn_tile::BM - 1) / conv_bn_tile::BM;
}

cudaError_t conv2d_fprop_bn_partials(Conv2dGeom p, const float* x, const float* w, float* y,
                                     bn_partials out, cudaStream_t stream) {
  return launch_bn_partials<conv_bn_tile>(p, x, w, y, out, stream);
}
cudaError_t conv2d_fprop_bn_partials_tf32(Conv2dGeom p, const float* x, const float* w, float* y,
                                          bn_partials out, cudaStream_t stream) {
  return launch_bn_partials_tf32(p, x, w, y, out, stream);
}
cudaError_t conv2d_fprop_bn_partials_wgmma(Conv2dGeom p, const float* x, const float* w, float* y,
                                           bn_partials out, cudaStream_t stream) {
  return launch_bn_partials_tf32(p, x, w, y, out, stream, {}, /*wgmma=*/true);
}

int64_t conv_bn_mrelu_fwd_workspace_floats(const Conv2dGeom& p, bool tf32) {
  // v9 splits like v8: the wgmma flag does not change the size
  return 3 * conv2d_fprop_bn_partials_count(p) * p.K +
         conv2d_fprop_workspace_floats(conv2d_fprop_split_k_version(tf32, false), p);
}

cudaError_t conv_bn_mrelu_fwd_train(conv_bn_mrelu_fwd_params p, const conv_bn_mrelu_fwd_tensors& t,
                                    cudaStream_t stream) {
  const Conv2dGeom& c = p.conv;
  // lazy: this layer's activation is left to the next conv's prologue (its act and mask are the
  // next launch's business, not this one's); a, bits and a residual would be ignored: refused.
  const bool lazy = t.lazy;
  if (!grid_ok(c) || (!lazy && !act_ok(p, t.mask)) || !t.gamma || !t.beta || !t.workspace)
    return cudaErrorInvalidValue;
  if (lazy && (t.a || t.bits || t.residual)) return cudaErrorInvalidValue;
  const int64_t parts = conv2d_fprop_bn_partials_count(c);
  if (parts > 0x7fffffff) return cudaErrorInvalidValue;
  int64_t num_partials = parts;
  bn_partials part{t.workspace, t.workspace + parts * c.K, t.workspace + 2 * parts * c.K};
  cudaError_t e;
  const conv2d_fprop_version split = conv2d_fprop_split_k_version(p.tf32, p.wgmma);
  if (conv2d_fprop_splits(c, split) > 1) {
    // A grid that would leave SMs idle: the conv split over C·R·S (fprop v6, v8 or v9, or the
    // prologue conv with x_act; the slices after the partials in the workspace), then the
    // statistics pass.
    float* slices = t.workspace + 3 * parts * c.K;
    if (t.x_act.active()) {
      conv2d_fprop_act_params ap;
      ap.conv = c, ap.tf32 = p.tf32, ap.wgmma = p.wgmma;
      e = conv2d_fprop_act(ap, t.x, t.x_act, t.w, nullptr, t.y, slices, stream);
    } else {
      e = conv2d_fprop(split, c, t.x, t.w, nullptr, t.y, stream, slices);
    }
    if (e != cudaSuccess) return e;
    bn_stats_params sp;
    sp.N = c.N, sp.K = c.K, sp.PQ = c.P * c.Q;
    num_partials = bn_stats_num_partials(sp);  // ≤ parts: the same workspace holds them
    part = {t.workspace, t.workspace + num_partials * c.K, t.workspace + 2 * num_partials * c.K};
    e = bn_stats_partials(sp, t.y, part, stream);
  } else {
    e = p.tf32 ? launch_bn_partials_tf32(c, t.x, t.w, t.y, part, stream, t.x_act, p.wgmma)
               : launch_bn_partials<conv_bn_tile>(c, t.x, t.w, t.y, part, stream, t.x_act);
  }
  if (e != cudaSuccess) return e;
  bn_finalize_params fp;
  fp.K = c.K, fp.num_partials = int(num_partials), fp.eps = p.eps, fp.momentum = p.momentum;
  e = bn_finalize_train(fp, part, t.gamma, t.beta, t.running_mean, t.running_var,
                        bn_channel_affine{t.mean, t.invstd, t.scale, t.shift}, stream);
  if (e != cudaSuccess || lazy) return e;
  scale_shift_mrelu_params sp;
  sp.N = c.N, sp.K = c.K, sp.PQ = c.P * c.Q, sp.act = p.act,
  sp.mask_per_channel = p.mask_per_channel;
  return scale_shift_mrelu(sp, t.y, t.scale, t.shift, t.residual, t.mask, t.a, t.bits, stream);
}

cudaError_t conv_bn_fold(Conv2dGeom p, float eps, const float* w, const float* gamma,
                         const float* beta, const float* running_mean, const float* running_var,
                         float* w_folded, float* b_folded, cudaStream_t stream) {
  if (!conv2d_geom_valid(p) || !(eps > 0) || !w || !gamma || !beta || !running_mean ||
      !running_var || !w_folded || !b_folded)
    return cudaErrorInvalidValue;
  return launch(conv_bn_fold_kernel, dim3(unsigned((p.w_size() + 255) / 256)), dim3(256), 0, stream,
                p, eps, w, gamma, beta, running_mean, running_var, w_folded, b_folded);
}

namespace {
// kTapOnly: the tap-major gather only (the caller has checked p.C % T::BK == 0).
template <class T, bool kTapOnly = false>
cudaError_t launch_infer(const conv_bn_mrelu_fwd_params& p, const float* x, const float* w_folded,
                         const float* b_folded, const uint8_t* mask, const float* residual,
                         float* a, cudaStream_t stream) {
  const dim3 grid(unsigned((p.conv.gemm_m() + T::BM - 1) / T::BM),
                  unsigned((p.conv.K + T::BN - 1) / T::BN));
  const auto run = [&](const auto& g) {
    return launch(conv_bn_mrelu_infer_kernel<T, std::decay_t<decltype(g)>>, grid, dim3(T::threads),
                  0, stream, p, g, b_folded, mask, residual, a);
  };
  if constexpr (kTapOnly)
    return run(detail::conv2d_fprop_gather_tap::make(p.conv, x, w_folded));
  else
    return detail::with_fprop_gather<T>(p.conv, x, w_folded, run);
}
}  // namespace

cudaError_t conv_bn_mrelu_infer(conv_bn_mrelu_fwd_params p, const float* x, const float* w_folded,
                                const float* b_folded, const uint8_t* mask, float* a,
                                cudaStream_t stream, const float* residual) {
  if (!grid_ok(p.conv) || !act_ok(p, mask) || !x || !w_folded || !b_folded || !a)
    return cudaErrorInvalidValue;
  if (!p.tf32)
    return launch_infer<conv_bn_tile>(p, x, w_folded, b_folded, mask, residual, a, stream);
  if (p.wgmma && conv2d_fprop_wgmma_runs(p.conv))
    return detail::with_wgmma_tile(p.conv.K, [&]<class T>() {
      return launch_infer<T, true>(p, x, w_folded, b_folded, mask, residual, a, stream);
    });
  return launch_infer<conv_bn_tile_tf32>(p, x, w_folded, b_folded, mask, residual, a, stream);
}

}  // namespace senet
