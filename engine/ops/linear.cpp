// engine/ops/linear.cpp — forward and backward of the fully connected layer, side by side.
#include "engine/ops/linear.h"

#include "engine/core/autograd.h"
#include "engine/cpu/linear.h"
#include "engine/ops/dispatch.h"

namespace senet {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_ndim("linear", x, 2, "input x (N×F)");
  check_ndim("linear", w, 2, "weight w (O×F)");
  check_dtype("linear", x, DType::F32, "input x");
  check_dtype("linear", w, DType::F32, "weight w");
  SENET_CHECK(x.size(1) == w.size(1), "linear: input x ", x.shape(), " has ", x.size(1),
              " features but weight w ", w.shape(), " expects ", w.size(1));
  check_same_device("linear", x, w);
  const bool has_bias = b.defined();
  if (has_bias) {
    check_dtype("linear", b, DType::F32, "bias b");
    SENET_CHECK(b.ndim() == 1 && b.size(0) == w.size(0), "linear: bias b ", b.shape(),
                " does not match weight w ", w.shape(), " (expected [", w.size(0), "])");
    check_same_device("linear", x, b);
  }
  const bool on_cuda = use_cuda("linear", {&x, &w, &b});
  const int64_t N = x.size(0), F = x.size(1), O = w.size(0);
  Tensor y = Tensor::empty({N, O}, DType::F32, x.device());
  if (on_cuda)
    cuda().linear_forward(x.data<float>(), w.data<float>(), ptr_or_null<float>(b), y.data<float>(),
                          N, F, O);
  else
    cpu::linear_forward(x.data<float>(), w.data<float>(), ptr_or_null<float>(b), y.data<float>(), N,
                        F, O);

  // backward: dx = dy·w, dw = dyᵀ·x, db = Σ_n dy — each only when its input requires grad.
  if (needs_grad({&x, &w, &b})) {
    Tensor sx = x.detach(), sw = w.detach();
    const bool gx = x.requires_grad(), gw = w.requires_grad(), gb = has_bias && b.requires_grad();
    record("linear", {x, w, b}, y,
           [sx, sw, gx, gw, gb, N, F, O, on_cuda](const Tensor& dy) -> std::vector<Tensor> {
             const Device d = dy.device();
             Tensor dx = gx ? Tensor::empty({N, F}, DType::F32, d) : Tensor();
             Tensor dw = gw ? Tensor::empty({O, F}, DType::F32, d) : Tensor();
             Tensor db = gb ? Tensor::empty({O}, DType::F32, d) : Tensor();
             if (on_cuda)
               cuda().linear_backward(dy.data<float>(), sx.data<float>(), sw.data<float>(),
                                      ptr_or_null<float>(dx), ptr_or_null<float>(dw),
                                      ptr_or_null<float>(db), N, F, O);
             else
               cpu::linear_backward(dy.data<float>(), sx.data<float>(), sw.data<float>(),
                                    ptr_or_null<float>(dx), ptr_or_null<float>(dw),
                                    ptr_or_null<float>(db), N, F, O);
             return {dx, dw, db};
           });
  }
  return y;
}

}  // namespace senet
