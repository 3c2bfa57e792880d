// engine/ops/alpha_relu.h — SNL's relaxed ReLU (Cho et al., ICML 2022), with autograd to x and α:
//   y = α ⊙ relu(x) + (1−α) ⊙ x         x: N×C×H×W, α: C×H×W broadcast over the batch
//   ∂/∂x = dy ⊙ (x > 0 ? 1 : 1−α)       ∂/∂α = Σ_n dy ⊙ (relu(x) − x)
// α = 1 is a ReLU, α = 0 the identity. More generally x: N×…, α: x's shape without dim 0.
#pragma once
#include "engine/core/tensor.h"

namespace senet {

Tensor alpha_relu(const Tensor& x, const Tensor& alpha);

}  // namespace senet
