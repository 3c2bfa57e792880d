// kernels/mrelu_bn_bwd.cu — backward of a = act(BN(y) (+ r)), fused; then the conv's dgrad/wgrad
// Math (da, y, dy, dr: N×K×P×Q; channel k has M = N·P·Q values; s_k = γ_k·invstd_k):
//   dz = da ⊙ p  (p: the forward's pass bits; none → dz = da);   dr = dz
//   (prologue fusion, kernels/conv_input_act.h: no stored bits, p = !relu || scale_k·y + shift_k > 0
//   recomputed from y with the forward's own expression — the same bits, one pass fewer to write)
//   x̂ = (y − μ_k)·invstd_k  (recomputed from y, never stored)
//   dβ_k = Σ dz,  dγ_k = Σ dz·x̂
//   training: dy = s_k·(dz − dβ_k/M − x̂·dγ_k/M);   eval (μ, σ constants): dy = s_k·dz
//   evaluated as dy = fmaf(c1, dz, fmaf(c2', y, c3')) with the per-channel constants c1 = s_k,
//   c2' = −s_k·(dγ_k/M)·invstd_k, c3' = −s_k·dβ_k/M − c2'·μ_k (eval: 0, 0) — the form dgrad and
//   wgrad evaluate when the BN backward is folded into them (kernels/conv_dy_bn.h), so both give
//   the same bits.
// Launches:
//   1 mrelu_bn_bwd_reduce_tile: block 256, grid (⌈M/1024⌉, K); a block sums dz and dz·x̂ over its
//     1024 (n,p,q) of channel k (block_sum: warp shuffles, fixed order) → partial[t][k].
//   2 mrelu_bn_bwd_merge (T = ⌈M/1024⌉ partials per channel: 128 for a batch of 128 at 32×32,
//     often with only 64 channels), in double → dβ, dγ; by version (params.version):
//     v1_tile_reduce_merge        one thread per channel adds t = 0, 1, …, T−1 in order; block
//                                 128, grid ⌈K/128⌉: K dependent chains of T loads and adds.
//     v2_tile_reduce_block_merge  block 512 per 32 channels: thread (g, l), g < 16, adds partials
//                                 t ≡ g (mod 16) of channel 32·blockIdx + l in order (reads
//                                 coalesced across l), then thread (0, l) adds the 16 sums in g
//                                 order from shared memory; grid ⌈K/32⌉: chains of ⌈T/16⌉ + 15.
//                                 For T ≤ 16 the same additions as v1, so the same bits.
//   3 mrelu_bn_bwd_coefficients: one thread per channel → {scale, shift, c1, c2', c3', relu, 0, 0}.
//   4 mrelu_bn_bwd_elementwise: block 256, grid-stride; reads da, bits, y; writes dy (and dr).
//   Memory passes: read da+y twice, write dy (+dr): the minimum with whole-batch reductions.
// conv_bn_mrelu_bwd: then dgrad(dy, w) and wgrad(x, dy) (kernels/conv2d_{dgrad,wgrad}.cu); or,
// folded (no residual, bits recomputed from y, dy not wanted), launches 1–3 and dgrad and wgrad
// computing dy from da and y as they load it: one pass (write dy, read it) fewer.
// Versions: v1, v2 differ in launch 2 only (above); v2 is the default.
// Numerics: fp32 per-tile sums, double merge: deterministic (each version's order is fixed by T
//   alone; v1's and v2's double sums differ in their last bits, so dβ, dγ by at most one fp32
//   rounding). dγ differs from the CPU backend's (8-lane fp32 per image, double per channel) in
//   rounding only: tests allow 1e-5 relative.
#include "kernels/mrelu_bn_bwd.h"

#include "kernels/block_reduce.cuh"
#include "kernels/conv2d_dgrad.h"
#include "kernels/conv2d_wgrad.h"
#include "kernels/conv_gather_act.cuh"
#include "kernels/conv_gather_bn.cuh"
#include "kernels/emu/cuda_compat.h"

namespace senet {

namespace detail {
// Element i (channel k, position kpq = i mod K·PQ) of y: da where its pass bit is set, else 0.
__device__ __forceinline__ float pass_dz(const uint32_t* bits, const conv_input_act& y_act,
                                         int64_t i, int k, int64_t kpq, float y, float da) {
  float z;
  if (bits) return ((bits[i >> 5] >> (i & 31)) & 1u) ? da : 0.0f;
  if (y_act.scale) return input_act_pass(y_act, y, k, kpq, &z) ? da : 0.0f;
  return da;
}
}  // namespace detail

__global__ void __launch_bounds__(256)
    mrelu_bn_bwd_reduce_tile_kernel(mrelu_bn_bwd_params p, const float* __restrict__ da,
                                    const uint32_t* __restrict__ bits, conv_input_act y_act,
                                    const float* __restrict__ y, const float* __restrict__ mean,
                                    const float* __restrict__ invstd,
                                    float* __restrict__ part_dbeta,
                                    float* __restrict__ part_dgamma) {
  __shared__ float scratch[32];
  const int tid = int(threadIdx.x), nthreads = int(blockDim.x);
  const int k = int(blockIdx.y), t = int(blockIdx.x);
  const int64_t m_begin = int64_t(t) * kMreluBnBwdTile;
  const int64_t m_end = p.M() < m_begin + kMreluBnBwdTile ? p.M() : m_begin + kMreluBnBwdTile;
  const float mu = mean[k], is = invstd[k];
  float sdz = 0.0f, sdzx = 0.0f;
  for (int64_t m = m_begin + tid; m < m_end; m += nthreads) {
    const int64_t n = m / p.PQ, pq = m - n * p.PQ, i = (n * p.K + k) * p.PQ + pq;
    const float yi = y[i];
    const float dz = detail::pass_dz(bits, y_act, i, k, int64_t(k) * p.PQ + pq, yi, da[i]);
    sdz += dz;
    sdzx = fmaf(dz, (yi - mu) * is, sdzx);
  }
  const float db = detail::block_sum(sdz, scratch, tid, nthreads);
  const float dg = detail::block_sum(sdzx, scratch, tid, nthreads);
  if (tid == 0) {
    part_dbeta[int64_t(t) * p.K + k] = db;
    part_dgamma[int64_t(t) * p.K + k] = dg;
  }
}

// v1: thread k adds channel k's partials t = 0, 1, …, T−1.
__global__ void mrelu_bn_bwd_merge_kernel(int K, int tiles, const float* __restrict__ part_dbeta,
                                          const float* __restrict__ part_dgamma,
                                          float* __restrict__ dbeta, float* __restrict__ dgamma) {
  const int k = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (k >= K) return;
  double db = 0, dg = 0;
  for (int t = 0; t < tiles; ++t) {
    db += part_dbeta[int64_t(t) * K + k];
    dg += part_dgamma[int64_t(t) * K + k];
  }
  dbeta[k] = float(db);
  dgamma[k] = float(dg);
}

// v2: thread (g, l) adds partials t ≡ g (mod 16) of channel 32·blockIdx + l, then thread (0, l)
// adds the 16 sums in g order.
constexpr int kBwdMergeChannels = 32, kBwdMergeGroups = 16;  // block 512

__global__ void __launch_bounds__(kBwdMergeChannels* kBwdMergeGroups)
    mrelu_bn_bwd_block_merge_kernel(int K, int tiles, const float* __restrict__ part_dbeta,
                                    const float* __restrict__ part_dgamma,
                                    float* __restrict__ dbeta, float* __restrict__ dgamma) {
  __shared__ double sdb[kBwdMergeGroups][kBwdMergeChannels],
      sdg[kBwdMergeGroups][kBwdMergeChannels];
  const int l = int(threadIdx.x) % kBwdMergeChannels, g = int(threadIdx.x) / kBwdMergeChannels;
  const int k = int(blockIdx.x) * kBwdMergeChannels + l;
  double db = 0, dg = 0;
  if (k < K)
    for (int t = g; t < tiles; t += kBwdMergeGroups) {
      db += part_dbeta[int64_t(t) * K + k];
      dg += part_dgamma[int64_t(t) * K + k];
    }
  sdb[g][l] = db, sdg[g][l] = dg;
  __syncthreads();
  if (g != 0 || k >= K) return;
  for (int h = 1; h < kBwdMergeGroups; ++h) db += sdb[h][l], dg += sdg[h][l];
  dbeta[k] = float(db);
  dgamma[k] = float(dg);
}

// Per channel: {scale, shift, c1, c2'} and {c3', relu, 0, 0} (kernels/conv_dy_bn.h). scale, shift
// and relu (the pass bit's) only when they are given (y_act); 0 otherwise, and then unused.
__global__ void mrelu_bn_bwd_coefficients_kernel(
    mrelu_bn_bwd_params p, conv_input_act y_act, const float* __restrict__ mean,
    const float* __restrict__ invstd, const float* __restrict__ gamma,
    const float* __restrict__ dbeta, const float* __restrict__ dgamma, float4* __restrict__ coef) {
  const int k = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (k >= p.K) return;
  const float inv_m = 1.0f / float(p.count > 0 ? p.count : p.M());
  const float c1 = gamma[k] * invstd[k];
  const float c2 = p.training ? -(c1 * (dgamma[k] * inv_m)) * invstd[k] : 0.0f;
  const float c3 = p.training ? fmaf(-c2, mean[k], -(c1 * (dbeta[k] * inv_m))) : 0.0f;
  const bool on = y_act.active();
  const bool relu =
      on && (y_act.act == Act::ReLU ||
             (y_act.act == Act::MaskedReLU && y_act.mask_per_channel && y_act.mask[k] != 0));
  coef[2 * k] = make_float4(on ? y_act.scale[k] : 0.0f, on ? y_act.shift[k] : 0.0f, c1, c2);
  coef[2 * k + 1] = make_float4(c3, relu ? 1.0f : 0.0f, 0.0f, 0.0f);
}

__global__ void __launch_bounds__(256)
    mrelu_bn_bwd_elementwise_kernel(mrelu_bn_bwd_params p, const float* __restrict__ da,
                                    const uint32_t* __restrict__ bits, conv_input_act y_act,
                                    const float* __restrict__ y, const float4* __restrict__ coef,
                                    float* __restrict__ dy, float* __restrict__ dr) {
  const int64_t n = p.size(), stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int k = int(i / p.PQ % p.K);
    const float yi = y[i];
    const float dz = detail::pass_dz(bits, y_act, i, k, i % (int64_t(p.K) * p.PQ), yi, da[i]);
    dy[i] = detail::bn_bwd_dy_of_dz(coef[2 * k], coef[2 * k + 1], dz, yi);
    if (dr) dr[i] = dz;
  }
}

int64_t mrelu_bn_bwd_num_partials(const mrelu_bn_bwd_params& p) {
  return (p.M() + kMreluBnBwdTile - 1) / kMreluBnBwdTile;
}
namespace {
// The partials, then the constants at a 16-byte boundary (float4 loads).
int64_t coef_offset(const mrelu_bn_bwd_params& p) {
  return (2 * mrelu_bn_bwd_num_partials(p) * p.K + 3) / 4 * 4;
}
}  // namespace
int64_t mrelu_bn_bwd_workspace_floats(const mrelu_bn_bwd_params& p) {
  return coef_offset(p) + kBnBwdCoefFloats * int64_t(p.K);
}

cudaError_t mrelu_bn_bwd_reduce(mrelu_bn_bwd_params p, const mrelu_bn_bwd_tensors& t,
                                cudaStream_t stream) {
  const bool version_ok = p.version == mrelu_bn_bwd_version::v1_tile_reduce_merge ||
                          p.version == mrelu_bn_bwd_version::v2_tile_reduce_block_merge;
  if (p.N < 1 || p.K < 1 || p.PQ < 1 || p.K > 65535 || !t.da || !t.y || !t.mean || !t.invstd ||
      !t.gamma || !t.dgamma || !t.dbeta || !t.workspace || !t.y_act.valid() || !version_ok)
    return cudaErrorInvalidValue;
  const int64_t tiles = mrelu_bn_bwd_num_partials(p);
  if (tiles > 0x7fffffff) return cudaErrorInvalidValue;
  float* part_db = t.workspace;
  float* part_dg = t.workspace + tiles * p.K;
  cudaError_t e =
      launch(mrelu_bn_bwd_reduce_tile_kernel, dim3(unsigned(tiles), unsigned(p.K)), dim3(256), 0,
             stream, p, t.da, t.bits, t.y_act, t.y, t.mean, t.invstd, part_db, part_dg);
  if (e != cudaSuccess) return e;
  return mrelu_bn_bwd_merge(p.version, p.K, int(tiles), part_db, part_dg, t.dbeta, t.dgamma,
                            stream);
}

cudaError_t mrelu_bn_bwd_merge(mrelu_bn_bwd_version v, int K, int tiles, const float* part_dbeta,
                               const float* part_dgamma, float* dbeta, float* dgamma,
                               cudaStream_t stream) {
  if (K < 1 || tiles < 1 || !part_dbeta || !part_dgamma || !dbeta || !dgamma)
    return cudaErrorInvalidValue;
  if (v == mrelu_bn_bwd_version::v1_tile_reduce_merge)
    return launch(mrelu_bn_bwd_merge_kernel, dim3(unsigned((K + 127) / 128)), dim3(128), 0, stream,
                  K, tiles, part_dbeta, part_dgamma, dbeta, dgamma);
  if (v != mrelu_bn_bwd_version::v2_tile_reduce_block_merge) return cudaErrorInvalidValue;
  return launch(mrelu_bn_bwd_block_merge_kernel,
                dim3(unsigned((K + kBwdMergeChannels - 1) / kBwdMergeChannels)),
                dim3(kBwdMergeChannels * kBwdMergeGroups), 0, stream, K, tiles, part_dbeta,
                part_dgamma, dbeta, dgamma);
}

const char* mrelu_bn_bwd_version_name(mrelu_bn_bwd_version v) {
  switch (v) {
    case mrelu_bn_bwd_version::v1_tile_reduce_merge: return "v1_tile_reduce_merge";
    case mrelu_bn_bwd_version::v2_tile_reduce_block_merge: return "v2_tile_reduce_block_merge";
  }
  return "?";
}

cudaError_t mrelu_bn_bwd_coefficients(mrelu_bn_bwd_params p, const mrelu_bn_bwd_tensors& t,
                                      const float* dbeta_all, const float* dgamma_all,
                                      cudaStream_t stream) {
  if (p.N < 1 || p.K < 1 || p.PQ < 1 || !t.mean || !t.invstd || !t.gamma || !t.workspace ||
      !dbeta_all || !dgamma_all || !t.y_act.valid())
    return cudaErrorInvalidValue;
  float* coef = t.workspace + coef_offset(p);
  return launch(mrelu_bn_bwd_coefficients_kernel, dim3(unsigned((p.K + 127) / 128)), dim3(128), 0,
                stream, p, t.y_act, t.mean, t.invstd, t.gamma, dbeta_all, dgamma_all,
                reinterpret_cast<float4*>(coef));
}

cudaError_t mrelu_bn_bwd_apply(mrelu_bn_bwd_params p, const mrelu_bn_bwd_tensors& t,
                               const float* dbeta_all, const float* dgamma_all,
                               cudaStream_t stream) {
  if (!t.da || !t.y || !t.dy) return cudaErrorInvalidValue;
  const cudaError_t e = mrelu_bn_bwd_coefficients(p, t, dbeta_all, dgamma_all, stream);
  if (e != cudaSuccess) return e;
  const int64_t blocks = (p.size() + 255) / 256;
  return launch(mrelu_bn_bwd_elementwise_kernel, dim3(unsigned(blocks < 4096 ? blocks : 4096)),
                dim3(256), 0, stream, p, t.da, t.bits, t.y_act, t.y,
                reinterpret_cast<const float4*>(t.workspace + coef_offset(p)), t.dy, t.dresidual);
}

conv_dy_bn mrelu_bn_bwd_folded_dy(const mrelu_bn_bwd_params& p, const mrelu_bn_bwd_tensors& t) {
  conv_dy_bn d;
  d.da = t.da, d.y = t.y, d.coef = t.workspace + coef_offset(p);
  // A per-channel activation is in the constants' relu flag; a per-position mask is read per element.
  if (t.y_act.active() && t.y_act.act == Act::MaskedReLU && !t.y_act.mask_per_channel)
    d.mask = t.y_act.mask;
  return d;
}

cudaError_t mrelu_bn_bwd(mrelu_bn_bwd_params p, const mrelu_bn_bwd_tensors& t,
                         cudaStream_t stream) {
  if (!t.dy) return cudaErrorInvalidValue;
  const cudaError_t e = mrelu_bn_bwd_reduce(p, t, stream);
  if (e != cudaSuccess) return e;
  return mrelu_bn_bwd_apply(p, t, t.dbeta, t.dgamma, stream);
}

int64_t conv_bn_mrelu_bwd_workspace_floats(const Conv2dGeom& p) {
  mrelu_bn_bwd_params bp;
  bp.N = p.N, bp.K = p.K, bp.PQ = p.P * p.Q;
  // Both at once when folded (the BN constants are read by dgrad and wgrad): wgrad's after BN's.
  return mrelu_bn_bwd_workspace_floats(bp) + conv2d_wgrad_v2_workspace_floats(p);
}

cudaError_t conv_bn_mrelu_bwd(Conv2dGeom p, const conv_bn_mrelu_bwd_tensors& t,
                              cudaStream_t stream) {
  // Folded: dy not wanted, and dz a function of da and y alone (no stored bits, no residual).
  const bool fold = !t.dy && !t.bits && !t.dresidual;
  if (!conv2d_geom_valid(p) || !t.x || !t.w || !t.workspace || (!t.dy && !fold))
    return cudaErrorInvalidValue;
  mrelu_bn_bwd_params bp;
  bp.N = p.N, bp.K = p.K, bp.PQ = p.P * p.Q, bp.training = true;
  const mrelu_bn_bwd_tensors& bt = t;  // the BN half (its workspace: the front of t's)
  float* wgrad_ws = t.workspace + mrelu_bn_bwd_workspace_floats(bp);
  cudaError_t e;
  if (fold) {
    e = mrelu_bn_bwd_reduce(bp, bt, stream);
    if (e == cudaSuccess) e = mrelu_bn_bwd_coefficients(bp, bt, t.dbeta, t.dgamma, stream);
    if (e != cudaSuccess) return e;
    const conv_dy_bn dy_bn = mrelu_bn_bwd_folded_dy(bp, bt);
    if (t.dx) {
      e = p.stride > 1 ? conv2d_dgrad_v5_simt_phases(p, nullptr, t.w, t.dx, stream, dy_bn)
                       : conv2d_dgrad_v4_simt_128x128(p, nullptr, t.w, t.dx, stream, dy_bn);
      if (e != cudaSuccess) return e;
    }
    if (t.dw)
      e = conv2d_wgrad_v4_simt_split_k(p, t.x, nullptr, t.dw, wgrad_ws, stream, t.x_act, dy_bn);
    return e;
  }
  e = mrelu_bn_bwd(bp, bt, stream);
  if (e != cudaSuccess) return e;
  if (t.dx) {
    e = conv2d_dgrad_v2_register_block(p, t.dy, t.w, t.dx, stream);
    if (e != cudaSuccess) return e;
  }
  // x_act (prologue fusion): wgrad v4's gather applies it to x (v2's dividing gather has none).
  if (t.dw)
    e = t.x_act.active()
            ? conv2d_wgrad_v4_simt_split_k(p, t.x, t.dy, t.dw, wgrad_ws, stream, t.x_act)
            : conv2d_wgrad_v2_split_k(p, t.x, t.dy, t.dw, wgrad_ws, stream);
  return e;
}

}  // namespace senet
