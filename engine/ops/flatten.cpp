// engine/ops/flatten.cpp — see flatten.h. Tensor::reshape records the backward.
#include "engine/ops/flatten.h"

namespace senet {

Tensor flatten(const Tensor& x) {
  SENET_CHECK(x.ndim() >= 1, "flatten: input ", x.shape(), " needs a batch dimension");
  int64_t rest = 1;
  for (int i = 1; i < x.ndim(); ++i) rest *= x.size(i);
  return x.reshape({x.size(0), rest});
}

}  // namespace senet
