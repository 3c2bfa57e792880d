// engine/ops/l1.h — the L1 norm Σ|x| as a scalar, with autograd (SNL's penalty on α).
//   ∂/∂x = dL · sign(x), with the subgradient 0 at x = 0.
#pragma once
#include "engine/core/tensor.h"

namespace senet {

Tensor l1(const Tensor& x);

}  // namespace senet
