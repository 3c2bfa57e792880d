// engine/ops/straight_through.cpp — forward and backward of a learned site's mask, side by side.
// Saved for backward: s.
#include "engine/ops/straight_through.h"

#include "engine/core/autograd.h"
#include "engine/cpu/straight_through.h"
#include "engine/ops/dispatch.h"

namespace senet {

Tensor straight_through_topk(const Tensor& score, int64_t k, Tensor& mask) {
  check_dtype("straight_through_topk", score, DType::F32, "scores");
  check_dtype("straight_through_topk", mask, DType::U8, "mask");
  SENET_CHECK(mask.shape() == score.shape(), "straight_through_topk: mask ", mask.shape(),
              " must have the scores' shape ", score.shape());
  const int64_t n = score.numel();
  SENET_CHECK(k >= 0 && k <= n, "straight_through_topk: cannot keep ", k, " of ", n);
  check_same_device("straight_through_topk", score, mask);
  const bool on_cuda = use_cuda("straight_through_topk", {&score, &mask});
  Tensor y = Tensor::empty_like(score);
  if (on_cuda)
    cuda().straight_through_forward(score.data<float>(), n, k, mask.data<uint8_t>(),
                                    y.data<float>());
  else
    cpu::straight_through_forward(score.data<float>(), n, k, mask.data<uint8_t>(), y.data<float>());

  // backward: ds = dy ⊙ sign(s)
  if (needs_grad({&score})) {
    Tensor ss = score.detach();
    record("straight_through_topk", {score}, y,
           [ss, n, on_cuda](const Tensor& dy) -> std::vector<Tensor> {
             Tensor ds = Tensor::empty(ss.shape(), DType::F32, ss.device());
             if (on_cuda)
               cuda().straight_through_backward(ss.data<float>(), dy.data<float>(),
                                                ds.data<float>(), n);
             else
               cpu::straight_through_backward(ss.data<float>(), dy.data<float>(), ds.data<float>(),
                                              n);
             return {ds};
           });
  }
  return y;
}

}  // namespace senet
