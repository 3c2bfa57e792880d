// engine/ops/pram_loss.h — PRAM, post-ReLU activation mismatch (docs/method.md §Stage 3), with autograd
// to the student only. For activations A: B×C×H×W,
//   q_b(h,w) = (1/C) Σ_c A²_{b,c,h,w},   q̂_b = q_b / max(‖q_b‖₂, 1e-12)   (norm over H·W)
//   L = (1/(B·H·W)) Σ_b Σ_{h,w} (q̂^S_b − q̂^T_b)²
// Backward through the normalisation: ∂q̂/∂q = (I − q̂q̂ᵀ)/‖q‖, ∂q/∂A = 2A/C (engine/cpu/pram.h).
// q̂ is invariant to scaling A, so A_S = s·A_T gives L = 0. The teacher is a constant.
#pragma once
#include "engine/core/tensor.h"

namespace senet {

Tensor pram_loss(const Tensor& a_student, const Tensor& a_teacher);

}  // namespace senet
