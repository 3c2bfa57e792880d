// kernels/softmax_xent.cu — softmax cross-entropy, forward and backward.
// Math (z: N×K logits, y: N int32 labels in [0,K)):
//   m_n = max_k z_nk;  lse_n = m_n + log Σ_k exp(z_nk − m_n);  p_nk = exp(z_nk − lse_n)
//   L = (1/N) Σ_n (lse_n − z_{n,y_n})              dL/dz = g·(p − onehot(y))/N
// Forward v1 "warp per row": block 256 = 8 rows, grid ⌈N/8⌉; lanes stride over k (coalesced);
//   max and Σexp by warp butterflies; never exp of a positive number. Then one fixed-order block
//   reduction over the N row losses (reduce.h sum_single_block): deterministic.
//   Bad label: atomicMin of the row into *bad_row (integer: order-independent), row loss NaN.
// Backward v1: grid-stride over N·K elements, block 256, grid ≤ 4096; computed as
//   c = g/N; dz = c·p (− c at the label), the CPU's expression order.
// Numerics: fp32 with expf/logf (full precision, no fast math): vs the CPU's double Σexp a few
//   ulp in p and ~1e-6 relative in L.
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/reduce.h"
#include "kernels/softmax_xent.h"
#include "kernels/warp_reduce.cuh"

namespace senet {
namespace {

constexpr int kBlock = 256;
constexpr int kRows = kBlock / 32;

__global__ void __launch_bounds__(kBlock) softmax_xent_fwd_v1_warp_per_row(softmax_xent_params p) {
  const int lane = int(threadIdx.x) % 32;
  const int64_t n = int64_t(blockIdx.x) * kRows + threadIdx.x / 32;
  if (n >= p.N) return;  // whole warps
  const float* z = p.logits + n * p.K;
  float m = -INFINITY;
  for (int64_t k = lane; k < p.K; k += 32) m = fmaxf(m, z[k]);
  m = kred::warp_max(m);
  float s = 0.f;
  for (int64_t k = lane; k < p.K; k += 32) s += expf(z[k] - m);
  s = kred::warp_sum(s);
  const float lse = m + logf(s);
  float* prob = p.probs + n * p.K;
  for (int64_t k = lane; k < p.K; k += 32) prob[k] = expf(z[k] - lse);
  if (lane == 0) {
    const int32_t y = p.labels[n];
    if (y < 0 || int64_t(y) >= p.K) {
      atomicMin(p.bad_row, uint32_t(n));  // n < 2³¹ (launcher check)
      p.row_loss[n] = NAN;
    } else {
      p.row_loss[n] = lse - z[y];
    }
  }
}

__global__ void __launch_bounds__(kBlock)
    softmax_xent_bwd_v1_grid_stride(softmax_xent_backward_params p) {
  const float g = p.grad_loss ? p.scale * p.grad_loss[0] : p.scale;
  const float c = g / float(p.N);
  const int64_t total = p.N * p.K, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    float v = c * p.probs[i];
    if (int64_t(p.labels[i / p.K]) == i % p.K) v -= c;
    p.dz[i] = v;
  }
}

}  // namespace

cudaError_t softmax_xent_forward_launch(softmax_xent_params p, cudaStream_t stream,
                                        int64_t* bad_row_out) {
  if (p.N <= 0 || p.K <= 0 || !p.logits || !p.labels || !p.probs || !p.row_loss || !p.loss ||
      !p.bad_row)
    return cudaErrorInvalidValue;
  if (p.N >= int64_t(INT32_MAX)) return cudaErrorInvalidValue;  // rows fit the uint32 flag
  cudaError_t e = cudaMemsetAsync(p.bad_row, 0xFF, sizeof(uint32_t), stream);
  if (e != cudaSuccess) return e;
  e = launch(softmax_xent_fwd_v1_warp_per_row, dim3(unsigned((p.N + kRows - 1) / kRows)),
             dim3(kBlock), 0, stream, p);
  if (e != cudaSuccess) return e;
  e = sum_single_block_launch(p.row_loss, p.N, 1.f / float(p.N), p.loss, stream);
  if (e != cudaSuccess || !p.check_labels) return e;
  uint32_t bad = 0;
  if ((e = cudaMemcpyAsync(&bad, p.bad_row, sizeof bad, cudaMemcpyDeviceToHost, stream)) !=
          cudaSuccess ||
      (e = cudaStreamSynchronize(stream)) != cudaSuccess)
    return e;
  if (bad_row_out) *bad_row_out = bad == UINT32_MAX ? -1 : int64_t(bad);
  return bad == UINT32_MAX ? cudaSuccess : cudaErrorInvalidValue;
}

cudaError_t softmax_xent_backward_launch(softmax_xent_backward_params p, cudaStream_t stream) {
  if (p.N <= 0 || p.K <= 0 || !p.probs || !p.labels || !p.dz) return cudaErrorInvalidValue;
  const int64_t n = p.N * p.K;
  const dim3 grid(unsigned(std::min<int64_t>((n + kBlock - 1) / kBlock, 4096)));
  return launch(softmax_xent_bwd_v1_grid_stride, grid, dim3(kBlock), 0, stream, p);
}

}  // namespace senet
