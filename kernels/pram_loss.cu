// kernels/pram_loss.cu — PRAM loss (SENET_SPEC stage 3), forward and backward.
// Math (A: B×C×H×W, HW = H·W, ε = 1e-12):
//   q_b(hw) = (1/C) Σ_c A²_{b,c,hw};  n_b = ‖q_b‖₂;  q̂_b = q_b / max(n_b, ε)
//   L = (1/(B·HW)) Σ_b Σ_hw (q̂^S_b − q̂^T_b)²
//   u = 2g(q̂^S − q̂^T)/(B·HW);  ∂L/∂q = (u − q̂(q̂·u))/n_b (∂q̂/∂q = (I − q̂q̂ᵀ)/‖q‖), u/ε if n_b < ε
//   ∂L/∂A = ∂L/∂q · 2A/C
// Forward: 1) pram_attention_v1_block_per_sample for the teacher: block b (256 threads) computes
//   q(hw) for hw ≡ t (mod 256) by a loop over c (reads coalesced along hw), stores it, reduces Σq²
//   over the block (fixed order) → n_b, then rescales its own entries. 2) the same for the student,
//   which also reduces Σ_hw (q̂^S − q̂^T)² → row_dist[b] (each thread reads only the entries it wrote;
//   the teacher's q̂ comes from the previous launch). 3) loss = fixed-order
//   Σ_b row_dist / (B·HW) (reduce.h). Grid B.
// Backward: 1) pram_dq_v1_block_per_sample: q̂·u by a block reduction, then dq (B×HW workspace).
//   2) pram_da_v1_grid_stride over B·C·HW: dA = dq[b,hw]·(2/C)·A.
// Numerics: fp32 (Σ_c in fp32, C ≤ 512): vs the CPU's double ~1e-6 relative in q̂; L is a sum of
//   squared differences of such values, compared with an absolute tolerance scaled by Σq̂².
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/pram_loss.h"
#include "kernels/reduce.h"
#include "kernels/warp_reduce.cuh"

namespace senet {
namespace {

constexpr int kBlock = 256;
constexpr int kWarps = kBlock / 32;

struct attention_args {
  const float* a;
  int64_t C, HW;
  float* q;            // B×HW out
  float* norm;         // B out
  const float* other;  // teacher q̂ (B×HW) or null
  float* dist;         // B out when other != null
};

__global__ void __launch_bounds__(kBlock) pram_attention_v1_block_per_sample(attention_args p) {
  __shared__ float scratch[32];
  const int t = int(threadIdx.x), lane = t % 32, warp = t / 32;
  const int64_t b = blockIdx.x;
  const float* a = p.a + b * p.C * p.HW;
  float* q = p.q + b * p.HW;
  const float inv_c = 1.f / float(p.C);
  float ss = 0.f;
  for (int64_t hw = t; hw < p.HW; hw += kBlock) {
    float s = 0.f;
    for (int64_t c = 0; c < p.C; ++c) {
      const float v = a[c * p.HW + hw];
      s += v * v;
    }
    s *= inv_c;
    q[hw] = s;
    ss += s * s;
  }
  const float n = sqrtf(kred::block_sum(ss, lane, warp, kWarps, scratch));
  const float inv = 1.f / fmaxf(n, kPramEpsilon);
  float d2 = 0.f;
  for (int64_t hw = t; hw < p.HW; hw += kBlock) {  // this thread's own entries only
    const float qh = q[hw] * inv;
    q[hw] = qh;
    if (p.other) {
      const float d = qh - p.other[b * p.HW + hw];
      d2 += d * d;
    }
  }
  if (p.other) {
    d2 = kred::block_sum(d2, lane, warp, kWarps, scratch);
    if (t == 0) p.dist[b] = d2;
  }
  if (t == 0) p.norm[b] = n;
}

__global__ void __launch_bounds__(kBlock) pram_dq_v1_block_per_sample(pram_backward_params p) {
  __shared__ float scratch[32];
  const int t = int(threadIdx.x), lane = t % 32, warp = t / 32;
  const int64_t b = blockIdx.x;
  const float g = p.grad_loss ? p.scale * p.grad_loss[0] : p.scale;
  const float c_u = 2.f * g / float(p.B * p.HW);
  const float* qs = p.qs + b * p.HW;
  const float* qt = p.qt + b * p.HW;
  float dot = 0.f;
  for (int64_t hw = t; hw < p.HW; hw += kBlock) dot += qs[hw] * (c_u * (qs[hw] - qt[hw]));
  dot = kred::block_sum(dot, lane, warp, kWarps, scratch);
  const float n = p.norm_s[b];
  float* dq = p.dq + b * p.HW;
  for (int64_t hw = t; hw < p.HW; hw += kBlock) {
    const float u = c_u * (qs[hw] - qt[hw]);
    dq[hw] = n >= kPramEpsilon ? (u - qs[hw] * dot) / n : u / kPramEpsilon;
  }
}

__global__ void __launch_bounds__(kBlock) pram_da_v1_grid_stride(pram_backward_params p) {
  const float c_a = 2.f / float(p.C);
  const int64_t chw = p.C * p.HW, total = p.B * chw, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t b = i / chw, hw = i % p.HW;
    p.da[i] = p.dq[b * p.HW + hw] * c_a * p.a_s[i];
  }
}

bool shape_ok(int64_t B, int64_t C, int64_t HW) {
  return B > 0 && C > 0 && HW > 0 && B <= int64_t(INT32_MAX);
}

}  // namespace

cudaError_t pram_forward_launch(pram_forward_params p, cudaStream_t stream) {
  if (!shape_ok(p.B, p.C, p.HW) || !p.a_s || !p.a_t || !p.qs || !p.qt || !p.norm_s || !p.norm_t ||
      !p.row_dist || !p.loss)
    return cudaErrorInvalidValue;
  const dim3 grid(unsigned(p.B));
  cudaError_t e = launch(pram_attention_v1_block_per_sample, grid, dim3(kBlock), 0, stream,
                         attention_args{p.a_t, p.C, p.HW, p.qt, p.norm_t, nullptr, nullptr});
  if (e != cudaSuccess) return e;
  e = launch(pram_attention_v1_block_per_sample, grid, dim3(kBlock), 0, stream,
             attention_args{p.a_s, p.C, p.HW, p.qs, p.norm_s, p.qt, p.row_dist});
  if (e != cudaSuccess) return e;
  return sum_single_block_launch(p.row_dist, p.B, float(1.0 / double(p.B * p.HW)), p.loss, stream);
}

cudaError_t pram_backward_launch(pram_backward_params p, cudaStream_t stream) {
  if (!shape_ok(p.B, p.C, p.HW) || !p.a_s || !p.qs || !p.norm_s || !p.qt || !p.dq || !p.da)
    return cudaErrorInvalidValue;
  cudaError_t e =
      launch(pram_dq_v1_block_per_sample, dim3(unsigned(p.B)), dim3(kBlock), 0, stream, p);
  if (e != cudaSuccess) return e;
  const int64_t n = p.B * p.C * p.HW;
  const dim3 grid(unsigned(std::min<int64_t>((n + kBlock - 1) / kBlock, 4096)));
  return launch(pram_da_v1_grid_stride, grid, dim3(kBlock), 0, stream, p);
}

}  // namespace senet
