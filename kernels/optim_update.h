// kernels/optim_update.h — in-place optimizer updates, PyTorch semantics (see optim_update.cu).
// Scalars (lr, bias corrections, ...) are computed by the host, as for engine/cpu/optim_update.h.
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"

namespace senet {

// SGD (μ momentum, τ dampening, λ weight decay, η lr):
//   d = g + λ·p;  buf = first ? d : μ·buf + (1−τ)·d;  d = nesterov ? d + μ·buf : buf;  p −= η·d
//   μ == 0: no buffer (buf may be null), p −= η·d.
struct sgd_update_params {
  float* p = nullptr;
  const float* g = nullptr;
  float* buf = nullptr;
  int64_t n = 0;
  float lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  bool first = false;  // first step of this parameter: buf = d
};
cudaError_t sgd_update_launch(sgd_update_params p, cudaStream_t stream);

// Adam / AdamW at step t: bc1 = 1−β₁ᵗ, bc2 = 1−β₂ᵗ (host-computed)
//   Adam: g ← g + λ·p      AdamW (decoupled): p ← p·(1 − η·λ)
//   m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;  p −= (η/bc1)·m / (√v/√bc2 + ε)
struct adam_update_params {
  float* p = nullptr;
  const float* g = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  int64_t n = 0;
  float lr = 0, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0;
  bool decoupled = false;
  float bias_correction1 = 1, bias_correction2 = 1;
};
cudaError_t adam_update_launch(adam_update_params p, cudaStream_t stream);

// --- v2: many parameter tensors in one launch (the idea of PyTorch's foreach / fused optimizers).
// A training step updates every parameter tensor (ResNet-18: 62, most of them BN vectors of 64–512
// floats), so one launch per tensor is 62 launches of mostly tiny grids. Here the tensors travel in
// the kernel's parameter block (by value: no table to upload, so the pointers may change every
// step), each is cut into chunks of kOptimMultiChunk elements, and block b updates chunk b of the
// concatenation. Per element the math is v1's, in the same device function: bitwise equal to v1.
// Up to kOptimMultiMaxTensors tensors per launch (the block stays under the classic 4 KiB limit of
// kernel parameters); the caller splits longer lists. Tensors with n == 0 are allowed (no chunk).
// Device scalars (`device_scalars`, optional): a launch recorded in a CUDA graph replays its
// parameter block unchanged, so the values that change every step — the learning rate of a
// schedule, Adam's bias corrections — are read from device memory instead, refilled by the host
// before each replay (PyTorch's `capturable=True` optimizers keep lr and step on the device for the
// same reason). SGD: device_scalars[0] = η replaces lr. Adam: {η, bc1, bc2} replace lr and every
// tensor's bias corrections (one step count for all: the caller checks); the kernel then derives
// η/bc1, √bc2 and 1 − η·λ in fp32 as the launcher would (no contraction): bitwise the same update.
constexpr int kOptimMultiMaxTensors = 64;
constexpr int kOptimMultiChunk = 4096;  // elements per block: 256 threads × 16

struct sgd_tensor {
  float* p = nullptr;
  const float* g = nullptr;
  float* buf = nullptr;  // null when momentum == 0
  int64_t n = 0;
  float weight_decay = 0;
  bool first = false;
};
struct sgd_update_multi_params {
  int count = 0;  // tensors in t[]
  sgd_tensor t[kOptimMultiMaxTensors];
  float lr = 0, momentum = 0, dampening = 0;  // shared by all tensors, as in one param group
  bool nesterov = false;
  const float* device_scalars = nullptr;  // optional: [η] on the device, replaces lr
};
cudaError_t sgd_update_multi_launch(const sgd_update_multi_params& p, cudaStream_t stream);

struct adam_tensor {
  float* p = nullptr;
  const float* g = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  int64_t n = 0;
  float weight_decay = 0;
  float bias_correction1 = 1, bias_correction2 = 1;  // per tensor: each has its own step count
};
struct adam_update_multi_params {
  int count = 0;
  adam_tensor t[kOptimMultiMaxTensors];
  float lr = 0, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  bool decoupled = false;
  const float* device_scalars = nullptr;  // optional: [η, bc1, bc2] on the device (see above)
};
cudaError_t adam_update_multi_launch(const adam_update_multi_params& p, cudaStream_t stream);

}  // namespace senet
