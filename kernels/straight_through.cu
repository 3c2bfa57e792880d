// kernels/straight_through.cu — a learned ReLU site's mask: hard forward, straight-through backward.
// Math (Bengio et al.'s straight-through estimator, as SENet's learned-mask option uses it): the
// site keeps the k positions of largest |s| (scores s: C×H×W, trained with the weights),
//   forward  y = m,  m = top-k(|s|) ∈ {0,1}           (piecewise constant in s: no gradient)
//   backward ∂L/∂s := ∂L/∂y · sign(s)                  (the surrogate: y ≈ |s| near the cut)
// i.e. y = m + sign(s)·(s − stop_grad(s)) in autograd notation, which is how the CPU path first
// wrote it (engine/ops/straight_through.h now has one op for both backends).
// Forward: topk_mask_launch with magnitude (kernels/mask_search.cu: radix select on the keys of
// |s|, exact and deterministic, no host round trip), then v1 "grid stride": y[i] = mask[i].
// Backward v1 "grid stride": ds[i] = s[i] < 0 ? −dy[i] : dy[i] (a sign flip: exact).
// Block 256, grid ≤ 4096. The CPU reference: engine/cpu/straight_through.h.
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/grid_stride.cuh"
#include "kernels/mask_search.h"
#include "kernels/straight_through.h"

namespace senet {
namespace {

constexpr int kBlock = detail::kGridStrideBlock;
using detail::grid_for;

__global__ void __launch_bounds__(kBlock)
    straight_through_fwd_v1_grid_stride(const uint8_t* __restrict__ mask, float* __restrict__ y,
                                        int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = mask[i] ? 1.f : 0.f;
}

__global__ void __launch_bounds__(kBlock)
    straight_through_bwd_v1_grid_stride(straight_through_params p) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride) {
    const float g = p.dy[i];
    p.ds[i] = p.s[i] < 0.f ? -g : g;
  }
}

}  // namespace

cudaError_t straight_through_forward_launch(straight_through_params p, cudaStream_t stream) {
  if (p.n < 0 || p.k < 0 || p.k > p.n) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.s || !p.mask || !p.y) return cudaErrorInvalidValue;
  topk_mask_params t;
  t.scores = p.s, t.n = p.n, t.k = p.k, t.mask = p.mask, t.magnitude = true;
  t.workspace = p.workspace, t.workspace_bytes = p.workspace_bytes;
  const cudaError_t e = topk_mask_launch(t, stream);
  if (e != cudaSuccess) return e;
  return launch(straight_through_fwd_v1_grid_stride, grid_for(p.n), dim3(kBlock), 0, stream,
                static_cast<const uint8_t*>(p.mask), p.y, p.n);
}

cudaError_t straight_through_backward_launch(straight_through_params p, cudaStream_t stream) {
  if (p.n < 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.s || !p.dy || !p.ds) return cudaErrorInvalidValue;
  return launch(straight_through_bwd_v1_grid_stride, grid_for(p.n), dim3(kBlock), 0, stream, p);
}

}  // namespace senet
