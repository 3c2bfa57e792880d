// kernels/masked_relu.cu — standalone masked ReLU (SENet's partial ReLU), ReLU, and SNL alpha-ReLU.
// Math: masked ReLU  p = !m || x > 0;  y = p ? x : 0 (= m ? max(x,0) : x);  dx = p ? dy : 0
//         (NaN with m = 1: p = 0, y = 0, as on the CPU); ReLU = all-ones mask.
//       alpha-ReLU   y = x > 0 ? x : (1−α)x;  dx = x > 0 ? dy : (1−α)dy;  dα_p = −Σ_n [x ≤ 0] dy·x
// Layout: x, y: N×L flattened (L = C·H·W per image); mask u8 per element [L] or per channel [C]
//   (index (i mod L)/HW); pass bits: bit i%32 of uint32 word i/32 (kernels/kernel_params.h).
// Launch: masked_relu fwd v1 "warp per word": grid-stride over the ⌈n/32⌉ words, one warp per
//   word, lane l handles element 32·w + l and __ballot_sync assembles the word, lane 0 stores it
//   (each word written by exactly one warp, bits past n are 0). Block 256, grid ≤ 4096.
//   Backward and alpha-ReLU forward/dx: grid-stride over elements, block 256, grid ≤ 4096.
//   alpha-ReLU dα v1 "thread per position": thread p walks n = 0..N−1 (reads coalesced along p),
//   fp32 accumulation in sample order: deterministic, no atomics; grid ⌈P/256⌉.
// Numerics: masked ReLU / dx exact (selects). alpha-ReLU y, dx: one multiply, bitwise the CPU's.
//   dα: fp32 sum of N terms vs the CPU's double: ~N·2⁻²⁴ relative to Σ|dy·x|.
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/grid_stride.cuh"
#include "kernels/masked_relu.h"

namespace senet {
namespace {

constexpr int kBlock = 256;
static_assert(kBlock == detail::kGridStrideBlock, "grid_for's blocks are this file's");

using detail::grid_for;

__global__ void __launch_bounds__(kBlock) masked_relu_fwd_v1_warp_per_word(masked_relu_params p) {
  const int lane = int(threadIdx.x) % 32;
  const int64_t words = (p.n + 31) / 32;
  const int64_t warps = int64_t(gridDim.x) * (kBlock / 32);
  for (int64_t w = int64_t(blockIdx.x) * (kBlock / 32) + threadIdx.x / 32; w < words; w += warps) {
    const int64_t i = w * 32 + lane;
    bool pass = false;
    if (i < p.n) {
      const float v = p.x[i];
      bool m = true;
      if (p.mask) {
        const int64_t j = i % p.L;
        m = p.mask[p.mask_hw > 0 ? j / p.mask_hw : j] != 0;
      }
      pass = !m || v > 0.f;
      p.y[i] = pass ? v : 0.f;
    }
    const unsigned word = __ballot_sync(0xffffffffu, pass);  // every lane of the warp takes part
    if (p.bits && lane == 0) p.bits[w] = word;
  }
}

__global__ void __launch_bounds__(kBlock)
    masked_relu_bwd_v1_grid_stride(masked_relu_backward_params p) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride)
    p.dx[i] = (p.bits[i >> 5] >> (i & 31)) & 1u ? p.dy[i] : 0.f;
}

__global__ void __launch_bounds__(kBlock) alpha_relu_fwd_v1_grid_stride(alpha_relu_params p) {
  const int64_t n = p.N * p.P, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float v = p.x[i];
    p.y[i] = v > 0.f ? v : (1.f - p.alpha[i % p.P]) * v;
  }
}

__global__ void __launch_bounds__(kBlock) alpha_relu_dx_v1_grid_stride(alpha_relu_params p) {
  const int64_t n = p.N * p.P, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    p.dx[i] = p.x[i] > 0.f ? p.dy[i] : (1.f - p.alpha[i % p.P]) * p.dy[i];
}

__global__ void __launch_bounds__(kBlock)
    alpha_relu_dalpha_v1_thread_per_position(alpha_relu_params p) {
  const int64_t pos = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (pos >= p.P) return;
  float acc = 0.f;
  for (int64_t n = 0; n < p.N; ++n) {
    const float v = p.x[n * p.P + pos];
    if (!(v > 0.f)) acc -= p.dy[n * p.P + pos] * v;
  }
  p.dalpha[pos] = acc;
}

}  // namespace

cudaError_t masked_relu_forward_launch(masked_relu_params p, cudaStream_t stream) {
  if (p.n < 0 || p.L <= 0 || p.n % p.L != 0 || p.mask_hw < 0) return cudaErrorInvalidValue;
  if (p.mask_hw > 0 && p.L % p.mask_hw != 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.x || !p.y) return cudaErrorInvalidValue;
  const int64_t words = (p.n + 31) / 32;
  const dim3 grid(unsigned(
      std::min<int64_t>((words + kBlock / 32 - 1) / (kBlock / 32), detail::kMaxGridStrideBlocks)));
  return launch(masked_relu_fwd_v1_warp_per_word, grid, dim3(kBlock), 0, stream, p);
}

cudaError_t masked_relu_backward_launch(masked_relu_backward_params p, cudaStream_t stream) {
  if (p.n < 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.dy || !p.bits || !p.dx) return cudaErrorInvalidValue;
  return launch(masked_relu_bwd_v1_grid_stride, grid_for(p.n), dim3(kBlock), 0, stream, p);
}

cudaError_t alpha_relu_forward_launch(alpha_relu_params p, cudaStream_t stream) {
  if (p.N < 0 || p.P <= 0) return cudaErrorInvalidValue;
  if (p.N == 0) return cudaSuccess;
  if (!p.x || !p.alpha || !p.y) return cudaErrorInvalidValue;
  return launch(alpha_relu_fwd_v1_grid_stride, grid_for(p.N * p.P), dim3(kBlock), 0, stream, p);
}

cudaError_t alpha_relu_backward_launch(alpha_relu_params p, cudaStream_t stream) {
  if (p.N < 0 || p.P <= 0) return cudaErrorInvalidValue;
  if (!p.dx && !p.dalpha) return cudaSuccess;
  if ((p.N > 0 && (!p.x || !p.dy)) || (p.dx && !p.alpha)) return cudaErrorInvalidValue;
  cudaError_t e = cudaSuccess;
  if (p.dx && p.N > 0)
    e = launch(alpha_relu_dx_v1_grid_stride, grid_for(p.N * p.P), dim3(kBlock), 0, stream, p);
  if (e != cudaSuccess || !p.dalpha) return e;
  if ((p.P + kBlock - 1) / kBlock > int64_t(INT32_MAX)) return cudaErrorInvalidValue;
  return launch(alpha_relu_dalpha_v1_thread_per_position,
                dim3(unsigned((p.P + kBlock - 1) / kBlock)), dim3(kBlock), 0, stream, p);
}

}  // namespace senet
