// engine/optim/adam.cpp — see adam.h; the element-wise update is cpu::adam_update per CPU parameter;
// all CUDA parameters go to the table's adam_update_multi at once (one launch per 64 tensors,
// engine/cuda/cuda_ops.h).
#include "engine/optim/adam.h"

#include <cmath>
#include <vector>

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

// bc1, bc2 exactly as step() computes them for the slot's next step.
std::vector<float> Adam::device_scalar_values(const Slot& s) const {
  const double t = double(s.step + 1);
  return {lr_, float(1.0 - std::pow(double(beta1_), t)), float(1.0 - std::pow(double(beta2_), t))};
}

void Adam::step() {
  cpu::AdamUpdate u;  // the scalars every tensor shares
  u.lr = lr_;
  u.beta1 = beta1_;
  u.beta2 = beta2_;
  u.eps = eps_;
  u.decoupled = decoupled_;
  std::vector<CudaOptimTensor> on_device;  // updated together after the loop, in one launch
  for_each_update(decoupled_ ? "AdamW" : "Adam", [&](Slot& s) {
    const float bc1 = float(1.0 - std::pow(double(beta1_), double(s.step)));
    const float bc2 = float(1.0 - std::pow(double(beta2_), double(s.step)));
    Tensor& p = s.ref.param;
    float* m = s.buffers[0].data<float>();
    float* v = s.buffers[1].data<float>();
    if (p.is_cuda()) {
      CudaOptimTensor t;
      t.p = p.data<float>(), t.g = p.grad().data<float>(), t.s0 = m, t.s1 = v, t.n = p.numel();
      t.weight_decay = s.weight_decay, t.bias_correction1 = bc1, t.bias_correction2 = bc2;
      on_device.push_back(t);
      return;
    }
    cpu::AdamUpdate c = u;
    c.weight_decay = s.weight_decay;
    c.bias_correction1 = bc1;
    c.bias_correction2 = bc2;
    cpu::adam_update(p.data<float>(), p.grad().data<float>(), m, v, p.numel(), c);
  });
  if (!on_device.empty())
    cuda_ops()->adam_update_multi(on_device.data(), on_device.size(), u, device_scalars());
}

}  // namespace senet
