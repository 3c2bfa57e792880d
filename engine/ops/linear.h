// engine/ops/linear.h — fully connected layer, with autograd (PyTorch layout: w is O×F).
//   y = x·wᵀ + b            x: N×F, w: O×F, b: O (optional: pass an undefined Tensor) → y: N×O
//   ∂/∂x = dy·w     ∂/∂w = dyᵀ·x     ∂/∂b = Σ_n dy
#pragma once
#include "engine/core/tensor.h"

namespace senet {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

}  // namespace senet
