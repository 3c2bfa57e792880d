// kernels/elementwise.cu — element-wise fp32 kernels: axpby (add, scale, add_inplace), mul, fill,
// copy.
// Math (n elements, flat):  axpby: y = α·a + β·b (β = 0: b unread; α = 0: a unread)
//                           mul: y = a ⊙ b      fill: y = v      copy: y = x
// add = axpby(1, 1): 1·a + 1·b is exactly a + b (also when fused into an FMA), so add and
// add_inplace are bitwise equal to the CPU's a + b. scale = axpby(s, 0): s·a, exact as on the CPU.
// Layout: flat arrays; outputs may alias inputs at the same index (no __restrict__).
// Launch (v1): grid-stride loop, block 256, grid min(⌈n/256⌉, 4096) — enough blocks to fill any
// current GPU, bounded so the grid never overflows; int64 indices (n may exceed 2³¹).
// Numerics: one rounding per operation, as in engine/cpu/elementwise.cpp (α·a + β·b may be
// contracted into an FMA by nvcc: ≤ 1 ulp from the CPU).
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/elementwise.h"
#include "kernels/grid_stride.cuh"

namespace senet {
namespace {

constexpr int kBlock = detail::kGridStrideBlock;
using detail::grid_for;

__global__ void __launch_bounds__(kBlock) elementwise_axpby_v1_grid_stride(axpby_params p) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride) {
    const float a = p.alpha != 0.f ? p.alpha * p.a[i] : 0.f;
    p.y[i] = p.beta != 0.f ? a + p.beta * p.b[i] : a;
  }
}

__global__ void __launch_bounds__(kBlock) elementwise_mul_v1_grid_stride(mul_params p) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride)
    p.y[i] = p.a[i] * p.b[i];
}

__global__ void __launch_bounds__(kBlock) elementwise_fill_v1_grid_stride(fill_params p) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride)
    p.y[i] = p.value;
}

__global__ void __launch_bounds__(kBlock) elementwise_copy_v1_grid_stride(copy_params p) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride)
    p.y[i] = p.x[i];
}

}  // namespace

cudaError_t axpby_launch(axpby_params p, cudaStream_t stream) {
  if (p.n < 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.y || (p.alpha != 0.f && !p.a) || (p.beta != 0.f && !p.b)) return cudaErrorInvalidValue;
  return launch(elementwise_axpby_v1_grid_stride, grid_for(p.n), dim3(kBlock), 0, stream, p);
}

cudaError_t mul_launch(mul_params p, cudaStream_t stream) {
  if (p.n < 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.a || !p.b || !p.y) return cudaErrorInvalidValue;
  return launch(elementwise_mul_v1_grid_stride, grid_for(p.n), dim3(kBlock), 0, stream, p);
}

cudaError_t fill_launch(fill_params p, cudaStream_t stream) {
  if (p.n < 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.y) return cudaErrorInvalidValue;
  return launch(elementwise_fill_v1_grid_stride, grid_for(p.n), dim3(kBlock), 0, stream, p);
}

cudaError_t copy_launch(copy_params p, cudaStream_t stream) {
  if (p.n < 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.x || !p.y) return cudaErrorInvalidValue;
  return launch(elementwise_copy_v1_grid_stride, grid_for(p.n), dim3(kBlock), 0, stream, p);
}

}  // namespace senet
