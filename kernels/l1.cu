// kernels/l1.cu — L1 norm and its subgradient.
// Math: L = Σ_i |x_i|;  dL/dx = g·sign(x), sign(0) = 0 (the subgradient at the kink).
// Forward: reduce.cu's two-level deterministic sum with reduce_op::abs (double accumulation, order
//   fixed by n). Backward v1: grid-stride, block 256, grid ≤ 4096; selects, bitwise the CPU's.
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/l1.h"
#include "kernels/reduce.h"

namespace senet {
namespace {

constexpr int kBlock = 256;

__global__ void __launch_bounds__(kBlock) l1_bwd_v1_grid_stride(l1_backward_params p) {
  const float g = p.grad_loss ? p.scale * p.grad_loss[0] : p.scale;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride) {
    const float v = p.x[i];
    p.dx[i] = v > 0.f ? g : (v < 0.f ? -g : 0.f);
  }
}

}  // namespace

cudaError_t l1_forward_launch(l1_forward_params p, cudaStream_t stream) {
  sum_params s;
  s.x = p.x, s.n = p.n, s.op = reduce_op::abs, s.scale = 1.f;
  s.out = p.out, s.out_double = p.out_double, s.partials = p.partials;
  return sum_launch(s, stream);
}

cudaError_t l1_backward_launch(l1_backward_params p, cudaStream_t stream) {
  if (p.n < 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.x || !p.dx) return cudaErrorInvalidValue;
  const dim3 grid(unsigned(std::min<int64_t>((p.n + kBlock - 1) / kBlock, 4096)));
  return launch(l1_bwd_v1_grid_stride, grid, dim3(kBlock), 0, stream, p);
}

}  // namespace senet
