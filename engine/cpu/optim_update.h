// engine/cpu/optim_update.h — in-place parameter updates of the optimizers (PyTorch semantics),
// on raw f32 arrays, threaded over elements for large tensors. Scalars are computed by the caller.
// SGD (μ momentum, τ dampening, λ weight decay, η lr):
//   d = g + λ·p;  buf = first ? d : μ·buf + (1−τ)·d;  d = nesterov ? d + μ·buf : buf;  p −= η·d
//   (with μ = 0 there is no buffer: p −= η·d)
// Adam / AdamW at step t (β₁, β₂, ε; bc₁ = 1−β₁ᵗ, bc₂ = 1−β₂ᵗ):
//   Adam:  g ← g + λ·p             AdamW (decoupled): p ← p·(1 − η·λ)
//   m = β₁·m + (1−β₁)·g;  v = β₂·v + (1−β₂)·g²;  p −= (η/bc₁) · m / (√v/√bc₂ + ε)
#pragma once
#include <cstdint>

namespace senet::cpu {

struct SgdUpdate {
  float lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  bool first = false;  // the momentum buffer is uninitialised: buf = d
};
// buf may be null when momentum == 0.
void sgd_update(float* p, const float* g, float* buf, int64_t n, const SgdUpdate& u);

struct AdamUpdate {
  float lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  bool decoupled = false;
  float bias_correction1 = 1, bias_correction2 = 1;  // 1 − β₁ᵗ, 1 − β₂ᵗ
};
void adam_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamUpdate& u);

}  // namespace senet::cpu
