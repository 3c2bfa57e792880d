// engine/optim/adam.cpp — see adam.h; the element-wise update is cpu::adam_update, or the table's
// adam_update kernel for CUDA parameters (engine/cuda/cuda_ops.h).
#include "engine/optim/adam.h"

#include <cmath>

#include "engine/cpu/optim_update.h"
#include "engine/cuda/cuda_ops.h"

namespace senet {

Adam::Adam(std::vector<ParamRef> params, float lr, float beta1, float beta2, float eps,
           float weight_decay, bool decoupled)
    : Optimizer(std::move(params), lr, weight_decay, {"exp_avg", "exp_avg_sq"}),
      beta1_(beta1),
      beta2_(beta2),
      eps_(eps),
      decoupled_(decoupled) {
  SENET_CHECK(beta1 >= 0 && beta1 < 1, "Adam: beta1 must be in [0, 1), got ", beta1);
  SENET_CHECK(beta2 >= 0 && beta2 < 1, "Adam: beta2 must be in [0, 1), got ", beta2);
  SENET_CHECK(std::isfinite(eps) && eps >= 0, "Adam: eps must be ≥ 0, got ", eps);
}

void Adam::step() {
  for_each_update(decoupled_ ? "AdamW" : "Adam", [&](Slot& s) {
    cpu::AdamUpdate u;
    u.lr = lr_;
    u.beta1 = beta1_;
    u.beta2 = beta2_;
    u.eps = eps_;
    u.weight_decay = s.weight_decay;
    u.decoupled = decoupled_;
    u.bias_correction1 = float(1.0 - std::pow(double(beta1_), double(s.step)));
    u.bias_correction2 = float(1.0 - std::pow(double(beta2_), double(s.step)));
    if (s.ref.param.is_cuda())
      cuda_ops()->adam_update(s.ref.param.data<float>(), s.ref.param.grad().data<float>(),
                              s.buffers[0].data<float>(), s.buffers[1].data<float>(),
                              s.ref.param.numel(), u);
    else
      cpu::adam_update(s.ref.param.data<float>(), s.ref.param.grad().data<float>(),
                       s.buffers[0].data<float>(), s.buffers[1].data<float>(), s.ref.param.numel(),
                       u);
  });
}

}  // namespace senet
