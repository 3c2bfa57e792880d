// kernels/optim_update.cu — SGD (momentum, dampening, Nesterov, weight decay) and Adam/AdamW.
// Math: see optim_update.h (PyTorch's torch.optim.SGD / Adam / AdamW, = engine/cpu/optim_update.h).
// Launch v1: grid-stride over n parameters, block 256, grid ≤ 4096; one thread per element, each
//   element's state (p, buf / m, v) read and written by that thread only.
// Numerics: the CPU's expressions in the CPU's order. Under emulation (g++, no FMA) bitwise equal
//   to the CPU; nvcc contracts a·b + c into FMAs: ≤ 1–2 ulp per step. Adam's η/bc1 and √bc2 are
//   computed once by the launcher in fp32, exactly as the CPU computes them.
#include "kernels/emu/cuda_compat.h"

#include <algorithm>
#include <cmath>

#include "kernels/optim_update.h"

namespace senet {
namespace {

constexpr int kBlock = 256;

dim3 grid_for(int64_t n) {
  return dim3(unsigned(std::min<int64_t>((n + kBlock - 1) / kBlock, 4096)));
}

__global__ void __launch_bounds__(kBlock) sgd_update_v1_grid_stride(sgd_update_params u) {
  const bool use_buf = u.momentum != 0.f;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < u.n; i += stride) {
    float d = u.g[i];
    if (u.weight_decay != 0.f) d += u.weight_decay * u.p[i];
    if (use_buf) {
      const float bi = u.first ? d : u.momentum * u.buf[i] + (1.f - u.dampening) * d;
      u.buf[i] = bi;
      d = u.nesterov ? d + u.momentum * bi : bi;
    }
    u.p[i] -= u.lr * d;
  }
}

__global__ void __launch_bounds__(kBlock)
    adam_update_v1_grid_stride(adam_update_params u, float step_size, float bc2_sqrt, float decay) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < u.n; i += stride) {
    float gi = u.g[i];
    float pi = u.p[i];
    if (u.weight_decay != 0.f) {
      if (u.decoupled)
        pi *= decay;
      else
        gi += u.weight_decay * pi;
    }
    const float mi = u.beta1 * u.m[i] + (1.f - u.beta1) * gi;
    const float vi = u.beta2 * u.v[i] + (1.f - u.beta2) * gi * gi;
    u.m[i] = mi;
    u.v[i] = vi;
    u.p[i] = pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + u.eps);
  }
}

}  // namespace

cudaError_t sgd_update_launch(sgd_update_params p, cudaStream_t stream) {
  if (p.n < 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.p || !p.g || (p.momentum != 0.f && !p.buf)) return cudaErrorInvalidValue;
  if (p.nesterov && (p.momentum <= 0.f || p.dampening != 0.f))  // PyTorch's rule
    return cudaErrorInvalidValue;
  return launch(sgd_update_v1_grid_stride, grid_for(p.n), dim3(kBlock), 0, stream, p);
}

cudaError_t adam_update_launch(adam_update_params p, cudaStream_t stream) {
  if (p.n < 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.p || !p.g || !p.m || !p.v) return cudaErrorInvalidValue;
  if (!(p.bias_correction1 > 0.f) || !(p.bias_correction2 > 0.f)) return cudaErrorInvalidValue;
  const float step_size = p.lr / p.bias_correction1;
  const float bc2_sqrt = std::sqrt(p.bias_correction2);
  const float decay = 1.f - p.lr * p.weight_decay;
  return launch(adam_update_v1_grid_stride, grid_for(p.n), dim3(kBlock), 0, stream, p, step_size,
                bc2_sqrt, decay);
}

}  // namespace senet
