// engine/ops/kd_loss.h — knowledge-distillation loss (Hinton et al.; docs/method.md §Stage 2, §Stage 3), with
// autograd to the student only:
//   KD_T = T² · (1/B) Σ_b Σ_k p^T_k (log p^T_k − log p^S_k),    p = softmax(z/T)
//   ∂KD/∂z_S = dL · (T/B)(p^S − p^T)
// The teacher's logits are a constant: no gradient reaches them even if they require grad.
// student, teacher: f32 B×K of the same shape; T > 0.
#pragma once
#include "engine/core/tensor.h"

namespace senet {

Tensor kd_loss(const Tensor& student, const Tensor& teacher, float T);

}  // namespace senet
