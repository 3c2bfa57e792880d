// engine/ops/alpha_relu.cpp — forward and backward of SNL's relaxed ReLU, side by side.
// Saved for backward: x and α.
#include "engine/ops/alpha_relu.h"

#include "engine/core/autograd.h"
#include "engine/cpu/alpha_relu.h"
#include "engine/ops/dispatch.h"

namespace senet {

Tensor alpha_relu(const Tensor& x, const Tensor& alpha) {
  check_dtype("alpha_relu", x, DType::F32, "input x");
  check_dtype("alpha_relu", alpha, DType::F32, "alpha");
  bool ok = x.ndim() >= 2 && alpha.ndim() == x.ndim() - 1;
  for (int i = 0; ok && i < alpha.ndim(); ++i) ok = alpha.size(i) == x.size(i + 1);
  SENET_CHECK(ok, "alpha_relu: alpha ", alpha.shape(), " must be the shape of input x ", x.shape(),
              " without its batch dimension");
  check_same_device("alpha_relu", x, alpha);
  const bool on_cuda = use_cuda("alpha_relu", {&x, &alpha});
  const int64_t N = x.size(0), P = alpha.numel();
  Tensor y = Tensor::empty_like(x);
  if (on_cuda)
    cuda().alpha_relu_forward(x.data<float>(), alpha.data<float>(), y.data<float>(), N, P);
  else
    cpu::alpha_relu_forward(x.data<float>(), alpha.data<float>(), y.data<float>(), N, P);

  // backward: dx = dy ⊙ (x > 0 ? 1 : 1−α);  dα = Σ_n dy ⊙ (relu(x) − x)
  if (needs_grad({&x, &alpha})) {
    Tensor sx = x.detach(), sa = alpha.detach();
    const bool gx = x.requires_grad(), ga = alpha.requires_grad();
    record("alpha_relu", {x, alpha}, y,
           [sx, sa, gx, ga, N, P, on_cuda](const Tensor& dy) -> std::vector<Tensor> {
             Tensor dx = gx ? Tensor::empty(sx.shape(), DType::F32, sx.device()) : Tensor();
             Tensor da = ga ? Tensor::empty(sa.shape(), DType::F32, sa.device()) : Tensor();
             if (on_cuda)
               cuda().alpha_relu_backward(sx.data<float>(), sa.data<float>(), dy.data<float>(),
                                          ptr_or_null<float>(dx), ptr_or_null<float>(da), N, P);
             else
               cpu::alpha_relu_backward(sx.data<float>(), sa.data<float>(), dy.data<float>(),
                                        ptr_or_null<float>(dx), ptr_or_null<float>(da), N, P);
             return {dx, da};
           });
  }
  return y;
}

}  // namespace senet
