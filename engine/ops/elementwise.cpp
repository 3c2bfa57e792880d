// engine/ops/elementwise.cpp — forward and backward of the element-wise ops, side by side.
// CUDA tensors: axpby / mul / sum kernels through the CudaOps table (engine/ops/dispatch.h).
#include "engine/ops/elementwise.h"

#include "engine/core/autograd.h"
#include "engine/cpu/elementwise.h"
#include "engine/ops/dispatch.h"

namespace senet {

static void check_binary(const char* op, const Tensor& a, const Tensor& b) {
  check_same_shape(op, a, b);
  check_same_device(op, a, b);
  check_dtype(op, a, DType::F32, "input a");
  check_dtype(op, b, DType::F32, "input b");
}

Tensor add(const Tensor& a, const Tensor& b) {
  check_binary("add", a, b);
  Tensor y = Tensor::empty_like(a);
  if (use_cuda("add", {&a, &b}))
    cuda().axpby(1.f, a.data<float>(), 1.f, b.data<float>(), y.data<float>(), y.numel());
  else
    cpu::add(a.data<float>(), b.data<float>(), y.data<float>(), y.numel());
  if (needs_grad({&a, &b}))
    record("add", {a, b}, y, [](const Tensor& dy) -> std::vector<Tensor> { return {dy, dy}; });
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  check_binary("sub", a, b);
  Tensor y = Tensor::empty_like(a);
  if (use_cuda("sub", {&a, &b}))
    cuda().axpby(1.f, a.data<float>(), -1.f, b.data<float>(), y.data<float>(), y.numel());
  else
    cpu::axpby(1.f, a.data<float>(), -1.f, b.data<float>(), y.data<float>(), y.numel());
  if (needs_grad({&a, &b}))
    record("sub", {a, b}, y, [](const Tensor& dy) -> std::vector<Tensor> {
      return {dy, scale(dy, -1.f)};
    });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_binary("mul", a, b);
  Tensor y = Tensor::empty_like(a);
  if (use_cuda("mul", {&a, &b}))
    cuda().mul(a.data<float>(), b.data<float>(), y.data<float>(), y.numel());
  else
    cpu::mul(a.data<float>(), b.data<float>(), y.data<float>(), y.numel());
  if (needs_grad({&a, &b})) {
    Tensor sa = a.detach(), sb = b.detach();
    record("mul", {a, b}, y, [sa, sb](const Tensor& dy) -> std::vector<Tensor> {
      return {mul(dy, sb), mul(dy, sa)};
    });
  }
  return y;
}

void mul_(Tensor& a, const Tensor& b) {
  check_binary("mul_", a, b);
  SENET_CHECK(!needs_grad({&a, &b}), "mul_: an in-place multiply records no gradient, but ",
              "gradients are being recorded for its inputs (run it under NoGradGuard)");
  if (use_cuda("mul_", {&a, &b}))
    cuda().mul(a.data<float>(), b.data<float>(), a.data<float>(), a.numel());
  else
    cpu::mul(a.data<float>(), b.data<float>(), a.data<float>(), a.numel());
}

Tensor scale(const Tensor& x, float s) {
  check_dtype("scale", x, DType::F32, "input");
  Tensor y = Tensor::empty_like(x);
  if (use_cuda("scale", {&x}))
    cuda().axpby(s, x.data<float>(), 0.f, nullptr, y.data<float>(), y.numel());
  else
    cpu::scale(x.data<float>(), s, y.data<float>(), y.numel());
  if (needs_grad({&x}))
    record("scale", {x}, y,
           [s](const Tensor& dy) -> std::vector<Tensor> { return {scale(dy, s)}; });
  return y;
}

Tensor sum(const Tensor& x) {
  check_dtype("sum", x, DType::F32, "input");
  Tensor y;
  if (use_cuda("sum", {&x})) {
    y = Tensor::empty({}, DType::F32, Device::CUDA);
    cuda().sum(x.data<float>(), x.numel(), y.data<float>());
  } else {
    y = Tensor::scalar(float(cpu::sum(x.data<float>(), x.numel())));
  }
  if (needs_grad({&x})) {
    Shape shape = x.shape();
    record("sum", {x}, y, [shape](const Tensor& dy) -> std::vector<Tensor> {
      return {Tensor::full(shape, dy.item(), dy.device())};
    });
  }
  return y;
}

Tensor mean(const Tensor& x) {
  SENET_CHECK(x.numel() > 0, "mean: empty tensor ", x.shape());
  return scale(sum(x), 1.f / float(x.numel()));
}

}  // namespace senet
