// kernels/optim_update.cu — SGD (momentum, dampening, Nesterov, weight decay) and Adam/AdamW.
// Math: see optim_update.h (PyTorch's torch.optim.SGD / Adam / AdamW, = engine/cpu/optim_update.h).
// Launch v1: grid-stride over n parameters, block 256, grid ≤ 4096; one thread per element, each
//   element's state (p, buf / m, v) read and written by that thread only.
// Launch v2 (multi-tensor): up to 64 tensors per launch, passed by value. The launcher cuts each
//   tensor into chunks of kOptimMultiChunk elements and writes the prefix `chunk_start[i]` = first
//   chunk of tensor i; block b finds its tensor by binary search in that prefix (≤ 6 steps) and
//   updates elements [c·chunk, min(n, (c+1)·chunk)) of it, c = b − chunk_start[i]. A step of
//   ResNet-18 (62 tensors, 11.2 M floats) is one launch of ~2,750 blocks instead of 62 launches.
// Numerics: the CPU's expressions in the CPU's order, written once (sgd_element, adam_element) and
//   shared by v1 and v2, so v2 equals v1 bitwise. Under emulation (g++, no FMA) both are bitwise
//   equal to the CPU; nvcc contracts a·b + c into FMAs: ≤ 1–2 ulp per step. Adam's η/bc1, √bc2 and
//   1 − η·λ are computed by the launcher in fp32, per tensor, exactly as the CPU computes them.
// Device scalars (v2, optional; a CUDA graph replays the launch with new values): each block reads
//   η (Adam: η, bc1, bc2) from memory once and derives the same fp32 values the launcher would —
//   IEEE division and square root, η·λ rounded before the subtraction (__fmul_rn: no FMA) — so
//   the update is bitwise the by-value one.
#include "kernels/emu/cuda_compat.h"

#include <algorithm>
#include <cmath>

#include "kernels/grid_stride.cuh"
#include "kernels/optim_update.h"

namespace senet {
namespace {

constexpr int kBlock = 256;
static_assert(kBlock == detail::kGridStrideBlock, "grid_for's blocks are this file's");

using detail::grid_for;

// One element of SGD: the buffer (if any) and the parameter, in place.
__device__ __forceinline__ void sgd_element(float* p, const float* g, float* buf, int64_t i,
                                            float lr, float momentum, float dampening, float wd,
                                            bool nesterov, bool first) {
  float d = g[i];
  if (wd != 0.f) d += wd * p[i];
  if (buf) {
    const float bi = first ? d : momentum * buf[i] + (1.f - dampening) * d;
    buf[i] = bi;
    d = nesterov ? d + momentum * bi : bi;
  }
  p[i] -= lr * d;
}

// One element of Adam(W); step_size = η/bc1, bc2_sqrt = √bc2, decay = 1 − η·λ (host-computed).
__device__ __forceinline__ void adam_element(float* p, const float* g, float* m, float* v,
                                             int64_t i, float beta1, float beta2, float eps,
                                             float wd, bool decoupled, float step_size,
                                             float bc2_sqrt, float decay) {
  float gi = g[i];
  float pi = p[i];
  if (wd != 0.f) {
    if (decoupled)
      pi *= decay;
    else
      gi += wd * pi;
  }
  const float mi = beta1 * m[i] + (1.f - beta1) * gi;
  const float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
}

__global__ void __launch_bounds__(kBlock) sgd_update_v1_grid_stride(sgd_update_params u) {
  float* buf = u.momentum != 0.f ? u.buf : nullptr;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < u.n; i += stride)
    sgd_element(u.p, u.g, buf, i, u.lr, u.momentum, u.dampening, u.weight_decay, u.nesterov,
                u.first);
}

__global__ void __launch_bounds__(kBlock)
    adam_update_v1_grid_stride(adam_update_params u, float step_size, float bc2_sqrt, float decay) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < u.n; i += stride)
    adam_element(u.p, u.g, u.m, u.v, i, u.beta1, u.beta2, u.eps, u.weight_decay, u.decoupled,
                 step_size, bc2_sqrt, decay);
}

// --- v2: the chunk map shared by both optimizers

struct chunk_map {
  int count = 0;
  int chunk_start[kOptimMultiMaxTensors + 1] = {};  // chunk_start[count] = chunks in all
};

// Fills the map from the tensors' sizes; false when the list is malformed or too long for a grid.
template <class Tensor>
bool make_chunk_map(const Tensor* t, int count, chunk_map* map) {
  if (count < 0 || count > kOptimMultiMaxTensors) return false;
  int64_t chunks = 0;
  map->count = count;
  for (int i = 0; i < count; ++i) {
    if (t[i].n < 0) return false;
    map->chunk_start[i] = int(chunks);
    chunks += (t[i].n + kOptimMultiChunk - 1) / kOptimMultiChunk;
    if (chunks > int64_t(0x7fffffff)) return false;
  }
  map->chunk_start[count] = int(chunks);
  return true;
}

// The tensor that owns chunk b: the last i with chunk_start[i] ≤ b (empty tensors own nothing).
__device__ __forceinline__ int tensor_of_chunk(const chunk_map& map, int b) {
  int lo = 0, hi = map.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (map.chunk_start[mid] <= b)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

struct sgd_multi_args {
  chunk_map map;
  sgd_update_multi_params u;
};

__global__ void __launch_bounds__(kBlock) sgd_update_v2_multi_tensor(sgd_multi_args a) {
  const int b = int(blockIdx.x);
  const int i = tensor_of_chunk(a.map, b);
  const sgd_tensor& t = a.u.t[i];
  float* buf = a.u.momentum != 0.f ? t.buf : nullptr;
  const float lr = a.u.device_scalars ? a.u.device_scalars[0] : a.u.lr;
  const int64_t begin = int64_t(b - a.map.chunk_start[i]) * kOptimMultiChunk;
  const int64_t end = t.n < begin + kOptimMultiChunk ? t.n : begin + kOptimMultiChunk;
  for (int64_t e = begin + threadIdx.x; e < end; e += kBlock)
    sgd_element(t.p, t.g, buf, e, lr, a.u.momentum, a.u.dampening, t.weight_decay, a.u.nesterov,
                t.first);
}

struct adam_tensor_k {  // what a block needs of one tensor: pointers, size, per-tensor scalars
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t n;
  float weight_decay, step_size, bc2_sqrt, decay;
};
struct adam_multi_args {
  chunk_map map;
  adam_tensor_k t[kOptimMultiMaxTensors];
  float beta1, beta2, eps;
  bool decoupled;
  const float* device_scalars;  // null, or [η, bc1, bc2]: replaces step_size, bc2_sqrt and decay
};

__global__ void __launch_bounds__(kBlock) adam_update_v2_multi_tensor(adam_multi_args a) {
  const int b = int(blockIdx.x);
  const int i = tensor_of_chunk(a.map, b);
  const adam_tensor_k& t = a.t[i];
  float step_size = t.step_size, bc2_sqrt = t.bc2_sqrt, decay = t.decay;
  if (a.device_scalars) {  // the launcher's three expressions, on this step's values
    const float lr = a.device_scalars[0];
    step_size = lr / a.device_scalars[1];
    bc2_sqrt = sqrtf(a.device_scalars[2]);
    decay = 1.f - __fmul_rn(lr, t.weight_decay);
  }
  const int64_t begin = int64_t(b - a.map.chunk_start[i]) * kOptimMultiChunk;
  const int64_t end = t.n < begin + kOptimMultiChunk ? t.n : begin + kOptimMultiChunk;
  for (int64_t e = begin + threadIdx.x; e < end; e += kBlock)
    adam_element(t.p, t.g, t.m, t.v, e, a.beta1, a.beta2, a.eps, t.weight_decay, a.decoupled,
                 step_size, bc2_sqrt, decay);
}

// CUDA's classic limit on a kernel's parameter block (sm_70+ with CUDA 12.1 allows 32 KiB).
static_assert(sizeof(sgd_multi_args) <= 4096 && sizeof(adam_multi_args) <= 4096,
              "multi-tensor arguments must fit the 4 KiB kernel parameter block");

bool sgd_scalars_ok(float momentum, float dampening, bool nesterov) {
  return !nesterov || (momentum > 0.f && dampening == 0.f);  // PyTorch's rule
}

}  // namespace

cudaError_t sgd_update_launch(sgd_update_params p, cudaStream_t stream) {
  if (p.n < 0) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.p || !p.g || (p.momentum != 0.f && !p.buf)) return cudaErrorInvalidValue;
  if (!sgd_scalars_ok(p.momentum, p.dampening, p.nesterov)) return cudaErrorInvalidValue;
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

cudaError_t sgd_update_multi_launch(const sgd_update_multi_params& p, cudaStream_t stream) {
  sgd_multi_args a;
  if (!make_chunk_map(p.t, p.count, &a.map)) return cudaErrorInvalidValue;
  if (!sgd_scalars_ok(p.momentum, p.dampening, p.nesterov)) return cudaErrorInvalidValue;
  for (int i = 0; i < p.count; ++i) {
    const sgd_tensor& t = p.t[i];
    if (t.n > 0 && (!t.p || !t.g || (p.momentum != 0.f && !t.buf))) return cudaErrorInvalidValue;
  }
  const int blocks = a.map.chunk_start[p.count];
  if (blocks == 0) return cudaSuccess;
  a.u = p;
  return launch(sgd_update_v2_multi_tensor, dim3(unsigned(blocks)), dim3(kBlock), 0, stream, a);
}

cudaError_t adam_update_multi_launch(const adam_update_multi_params& p, cudaStream_t stream) {
  adam_multi_args a;
  if (!make_chunk_map(p.t, p.count, &a.map)) return cudaErrorInvalidValue;
  for (int i = 0; i < p.count; ++i) {
    const adam_tensor& t = p.t[i];
    if (t.n > 0 && (!t.p || !t.g || !t.m || !t.v)) return cudaErrorInvalidValue;
    if (!p.device_scalars && (!(t.bias_correction1 > 0.f) || !(t.bias_correction2 > 0.f)))
      return cudaErrorInvalidValue;
    // as v1's launcher computes them, per tensor
    a.t[i] = adam_tensor_k{t.p,
                           t.g,
                           t.m,
                           t.v,
                           t.n,
                           t.weight_decay,
                           p.lr / t.bias_correction1,
                           std::sqrt(t.bias_correction2),
                           1.f - p.lr * t.weight_decay};
  }
  const int blocks = a.map.chunk_start[p.count];
  if (blocks == 0) return cudaSuccess;
  a.beta1 = p.beta1, a.beta2 = p.beta2, a.eps = p.eps, a.decoupled = p.decoupled;
  a.device_scalars = p.device_scalars;
  return launch(adam_update_v2_multi_tensor, dim3(unsigned(blocks)), dim3(kBlock), 0, stream, a);
}

}  // namespace senet
