// kernels/kd_loss.cu — knowledge distillation (Hinton), forward and backward (SENET_SPEC 2–3).
// Math (zs, zt: N×K, T > 0, p = softmax(z/T), log p = z/T − lse(z/T)):
//   L = T²·(1/N) Σ_n Σ_k p^t_nk (log p^t_nk − log p^s_nk)        ∂L/∂zs = g·(T/N)(p^s − p^t)
//   (a term with p^t = 0 contributes 0: exp underflow gives exactly 0·finite)
// Forward v1 "warp per row": block 256 = 8 rows, grid ⌈N/8⌉; per row two log-sum-exps (max, then
//   Σexp of non-positive numbers) by warp butterflies, then Σ_k p^t(log p^t − log p^s) the same
//   way; then a fixed-order block reduction of the N row terms × T²/N (reduce.h): deterministic.
// Backward v1: grid-stride over N·K, block 256, grid ≤ 4096; c = g·T/N, dz = c·(ps − pt).
// Numerics: fp32 expf/logf; vs the CPU (double Σexp and Σ_k) ~1e-6 relative in L, a few ulp in p.
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/kd_loss.h"
#include "kernels/reduce.h"
#include "kernels/warp_reduce.cuh"

namespace senet {
namespace {

constexpr int kBlock = 256;
constexpr int kRows = kBlock / 32;

// lse of z/T over one row, every lane gets it.
__device__ __forceinline__ float row_lse(const float* z, int64_t K, float inv_T, int lane) {
  float m = -INFINITY;
  for (int64_t k = lane; k < K; k += 32) m = fmaxf(m, z[k] * inv_T);
  m = kred::warp_max(m);
  float s = 0.f;
  for (int64_t k = lane; k < K; k += 32) s += expf(z[k] * inv_T - m);
  return m + logf(kred::warp_sum(s));
}

__global__ void __launch_bounds__(kBlock) kd_fwd_v1_warp_per_row(kd_forward_params p, float inv_T) {
  const int lane = int(threadIdx.x) % 32;
  const int64_t n = int64_t(blockIdx.x) * kRows + threadIdx.x / 32;
  if (n >= p.N) return;  // whole warps
  const float* zs = p.zs + n * p.K;
  const float* zt = p.zt + n * p.K;
  const float lse_s = row_lse(zs, p.K, inv_T, lane);
  const float lse_t = row_lse(zt, p.K, inv_T, lane);
  float kl = 0.f;
  for (int64_t k = lane; k < p.K; k += 32) {
    const float ls = zs[k] * inv_T - lse_s, lt = zt[k] * inv_T - lse_t;
    const float pt = expf(lt);
    p.ps[n * p.K + k] = expf(ls);
    p.pt[n * p.K + k] = pt;
    kl += pt * (lt - ls);
  }
  kl = kred::warp_sum(kl);
  if (lane == 0) p.row_kl[n] = kl;
}

__global__ void __launch_bounds__(kBlock) kd_bwd_v1_grid_stride(kd_backward_params p) {
  const float g = p.grad_loss ? p.scale * p.grad_loss[0] : p.scale;
  const float c = g * p.T / float(p.N);
  const int64_t total = p.N * p.K, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    p.dzs[i] = c * (p.ps[i] - p.pt[i]);
}

}  // namespace

cudaError_t kd_forward_launch(kd_forward_params p, cudaStream_t stream) {
  if (p.N <= 0 || p.K <= 0 || !(p.T > 0.f) || !p.zs || !p.zt || !p.ps || !p.pt || !p.row_kl ||
      !p.loss)
    return cudaErrorInvalidValue;
  if ((p.N + kRows - 1) / kRows > int64_t(INT32_MAX)) return cudaErrorInvalidValue;
  cudaError_t e = launch(kd_fwd_v1_warp_per_row, dim3(unsigned((p.N + kRows - 1) / kRows)),
                         dim3(kBlock), 0, stream, p, 1.f / p.T);
  if (e != cudaSuccess) return e;
  return sum_single_block_launch(p.row_kl, p.N, float(double(p.T) * p.T / double(p.N)), p.loss,
                                 stream);
}

cudaError_t kd_backward_launch(kd_backward_params p, cudaStream_t stream) {
  if (p.N <= 0 || p.K <= 0 || !(p.T > 0.f) || !p.ps || !p.pt || !p.dzs)
    return cudaErrorInvalidValue;
  const int64_t n = p.N * p.K;
  const dim3 grid(unsigned(std::min<int64_t>((n + kBlock - 1) / kBlock, 4096)));
  return launch(kd_bwd_v1_grid_stride, grid, dim3(kBlock), 0, stream, p);
}

}  // namespace senet
