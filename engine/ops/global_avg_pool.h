// engine/ops/global_avg_pool.h — global average pooling, with autograd.
//   y[n,c] = (1/HW) Σ_{h,w} x[n,c,h,w]        x: N×C×H×W → y: N×C
//   ∂/∂x   = dy[n,c] / HW broadcast over H×W
#pragma once
#include "engine/core/tensor.h"

namespace senet {

Tensor global_avg_pool(const Tensor& x);

}  // namespace senet
