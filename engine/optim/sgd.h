// engine/optim/sgd.h — stochastic gradient descent with momentum (PyTorch's torch.optim.SGD):
//   d = g + λ·p
//   buf = μ·buf + (1−τ)·d        (buf = d on a parameter's first step; no buffer when μ = 0)
//   d = nesterov ? d + μ·buf : buf
//   p −= η·d
// State per parameter: "<name>.momentum_buffer" (when μ ≠ 0) and "<name>.step".
#pragma once
#include "engine/optim/optimizer.h"

namespace senet {

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamRef> params, float lr, float momentum = 0, float weight_decay = 0,
      bool nesterov = false, float dampening = 0);
  void step() override;

  float momentum() const { return momentum_; }

 private:
  std::vector<float> device_scalar_values(const Slot&) const override { return {lr_}; }
  float momentum_, dampening_;
  bool nesterov_;
};

}  // namespace senet
