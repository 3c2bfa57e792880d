// kernels/global_avg_pool.cu — global average pooling, forward and backward.
// Math (x: N×C×H×W viewed as NC rows of HW contiguous values):
//   forward  y[nc] = (1/HW) Σ_hw x[nc,hw]        backward dx[nc,hw] = dy[nc] / HW
// Launch: forward v1 "warp per row": block 256 = 8 rows, grid ⌈NC/8⌉ (≤ 2³¹−1, checked). Lane l sums hw ≡ l (mod 32) in order
//   (coalesced 128-byte reads for HW ≥ 32), then a butterfly over the warp; fixed order:
//   reproducible. Backward v1: grid-stride over NC·HW elements, block 256, grid ≤ 4096.
// Numerics: fp32 accumulation (HW ≤ 4096 in our models: ≤ 128 terms per lane, then 5 pairwise
//   levels), one multiply by 1/HW; vs the CPU's sequential fp32/double sum: a few ulp.
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/global_avg_pool.h"
#include "kernels/warp_reduce.cuh"

namespace senet {
namespace {

constexpr int kBlock = 256;
constexpr int kRowsPerBlock = kBlock / 32;

__global__ void __launch_bounds__(kBlock)
    global_avg_pool_fwd_v1_warp_per_row(global_avg_pool_params p, float inv_hw) {
  const int lane = int(threadIdx.x) % 32;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  if (row >= p.NC) return;  // whole warps leave together
  const float* x = p.x + row * p.HW;
  float s = 0.f;
  for (int64_t i = lane; i < p.HW; i += 32) s += x[i];
  s = kred::warp_sum(s);
  if (lane == 0) p.y[row] = s * inv_hw;
}

__global__ void __launch_bounds__(kBlock)
    global_avg_pool_bwd_v1_grid_stride(global_avg_pool_params p, float inv_hw) {
  const int64_t n = p.NC * p.HW, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    p.y[i] = p.x[i / p.HW] * inv_hw;
}

bool valid(const global_avg_pool_params& p) {
  return p.NC >= 0 && p.HW > 0 && (p.NC == 0 || (p.x && p.y)) &&
         (p.NC + kRowsPerBlock - 1) / kRowsPerBlock <= int64_t(INT32_MAX);
}

}  // namespace

cudaError_t global_avg_pool_forward_launch(global_avg_pool_params p, cudaStream_t stream) {
  if (!valid(p)) return cudaErrorInvalidValue;
  if (p.NC == 0) return cudaSuccess;
  return launch(global_avg_pool_fwd_v1_warp_per_row,
                dim3(unsigned((p.NC + kRowsPerBlock - 1) / kRowsPerBlock)), dim3(kBlock), 0, stream,
                p, 1.f / float(p.HW));
}

cudaError_t global_avg_pool_backward_launch(global_avg_pool_params p, cudaStream_t stream) {
  if (!valid(p)) return cudaErrorInvalidValue;
  if (p.NC == 0) return cudaSuccess;
  const int64_t n = p.NC * p.HW;
  const dim3 grid(unsigned(std::min<int64_t>((n + kBlock - 1) / kBlock, 4096)));
  return launch(global_avg_pool_bwd_v1_grid_stride, grid, dim3(kBlock), 0, stream, p,
                1.f / float(p.HW));
}

}  // namespace senet
