// engine/ops/straight_through.h — a learned ReLU site's mask (models/relu_site.h, SiteMode::Learned;
// SENet's stage 2 with senet.mask_learner = ste), with autograd to the scores s:
//   forward   m = top-k of |s| (exactly k ones, ties toward the lower index), y = m as 0/1 floats
//   backward  ∂L/∂s := ∂L/∂y ⊙ sign(s),  sign(s) = s < 0 ? −1 : +1
// The straight-through estimator: y is piecewise constant in s, so its backward is a surrogate —
// the gradient of y = m + sign(s)⊙(s − stop_grad(s)), to which this op is bitwise equal (values
// and gradients; tests/ops/test_straight_through.cpp). `mask` (u8, s's shape and device) receives
// m in place. On CUDA the top-k runs on the device (kernels/straight_through.cu): no host round
// trip, so a step with learned sites can be recorded as a CUDA graph.
#pragma once
#include <cstdint>

#include "engine/core/tensor.h"

namespace senet {

Tensor straight_through_topk(const Tensor& score, int64_t k, Tensor& mask);

}  // namespace senet
