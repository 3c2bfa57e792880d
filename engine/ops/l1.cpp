// engine/ops/l1.cpp — forward and backward of the L1 norm, side by side. Saved: x.
#include "engine/ops/l1.h"

#include "engine/core/autograd.h"
#include "engine/cpu/l1.h"
#include "engine/ops/dispatch.h"

namespace senet {

Tensor l1(const Tensor& x) {
  check_dtype("l1", x, DType::F32, "input");
  const bool on_cuda = use_cuda("l1", {&x});
  Tensor y;
  if (on_cuda) {
    y = Tensor::empty({}, DType::F32, Device::CUDA);
    cuda().l1_forward(x.data<float>(), x.numel(), y.data<float>());
  } else {
    y = Tensor::scalar(float(cpu::l1_forward(x.data<float>(), x.numel())));
  }

  // backward: dx = dL · sign(x)
  if (needs_grad({&x})) {
    Tensor sx = x.detach();
    record("l1", {x}, y, [sx, on_cuda](const Tensor& dL) -> std::vector<Tensor> {
      Tensor dx = Tensor::empty(sx.shape(), DType::F32, sx.device());
      if (on_cuda) {
        const LossGrad g = loss_grad(dL);
        cuda().l1_backward(sx.data<float>(), g.device, g.scale, dx.data<float>(), sx.numel());
      } else {
        cpu::l1_backward(sx.data<float>(), dL.item(), dx.data<float>(), sx.numel());
      }
      return {dx};
    });
  }
  return y;
}

}  // namespace senet
