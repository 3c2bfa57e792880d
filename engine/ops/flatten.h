// engine/ops/flatten.h — N×d1×…×dk → N×(d1·…·dk), a reshape (a view; its gradient reshapes back).
#pragma once
#include "engine/core/tensor.h"

namespace senet {

Tensor flatten(const Tensor& x);

}  // namespace senet
