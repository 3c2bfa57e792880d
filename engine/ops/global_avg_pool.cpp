// engine/ops/global_avg_pool.cpp — forward and backward of global average pooling, side by side.
#include "engine/ops/global_avg_pool.h"

#include "engine/core/autograd.h"
#include "engine/cpu/global_avg_pool.h"
#include "engine/ops/dispatch.h"

namespace senet {

Tensor global_avg_pool(const Tensor& x) {
  check_ndim("global_avg_pool", x, 4, "input (N×C×H×W)");
  check_dtype("global_avg_pool", x, DType::F32, "input");
  const bool on_cuda = use_cuda("global_avg_pool", {&x});
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  SENET_CHECK(HW > 0, "global_avg_pool: input ", x.shape(), " has an empty H×W plane");
  Tensor y = Tensor::empty({N, C}, DType::F32, x.device());
  if (on_cuda)
    cuda().global_avg_pool_forward(x.data<float>(), y.data<float>(), N * C, HW);
  else
    cpu::global_avg_pool_forward(x.data<float>(), y.data<float>(), N * C, HW);

  // backward: dx[n,c,:,:] = dy[n,c] / HW  (nothing saved but the shape)
  if (needs_grad({&x})) {
    Shape xs = x.shape();
    record("global_avg_pool", {x}, y,
           [xs, N, C, HW, on_cuda](const Tensor& dy) -> std::vector<Tensor> {
             Tensor dx = Tensor::empty(xs, DType::F32, dy.device());
             if (on_cuda)
               cuda().global_avg_pool_backward(dy.data<float>(), dx.data<float>(), N * C, HW);
             else
               cpu::global_avg_pool_backward(dy.data<float>(), dx.data<float>(), N * C, HW);
             return {dx};
           });
  }
  return y;
}

}  // namespace senet
