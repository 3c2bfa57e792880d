// engine/ops/l1.cpp — forward and backward of the L1 norm, side by side. Saved: x.
#include "engine/ops/l1.h"

#include "engine/core/autograd.h"
#include "engine/cpu/l1.h"
#include "engine/ops/dispatch.h"

namespace senet {

Tensor l1(const Tensor& x) {
  check_dtype("l1", x, DType::F32, "input");
  require_cpu("l1", {&x});
  Tensor y = Tensor::scalar(float(cpu::l1_forward(x.data<float>(), x.numel())));

  // backward: dx = dL · sign(x)
  if (needs_grad({&x})) {
    Tensor sx = x.detach();
    record("l1", {x}, y, [sx](const Tensor& dL) -> std::vector<Tensor> {
      Tensor dx = Tensor::empty(sx.shape());
      cpu::l1_backward(sx.data<float>(), dL.item(), dx.data<float>(), sx.numel());
      return {dx};
    });
  }
  return y;
}

}  // namespace senet
