// engine/ops/step_sums.cpp — see step_sums.h. CUDA: one launch per sum (the reduce kernel writes
// straight into out's slot), one axpby on a single element, the accumulating count_correct kernel.
#include "engine/ops/step_sums.h"

#include "engine/cpu/elementwise.h"
#include "engine/ops/check_labels.h"
#include "engine/ops/count_correct.h"
#include "engine/ops/dispatch.h"

namespace senet {

void sum_each_into(const std::vector<Tensor>& xs, Tensor& out, int64_t offset) {
  check_dtype("sum_each_into", out, DType::F32, "out");
  SENET_CHECK(offset >= 0 && offset + int64_t(xs.size()) <= out.numel(),
              "sum_each_into: ", xs.size(), " sums from offset ", offset, " do not fit out ",
              out.shape());
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    check_dtype("sum_each_into", x, DType::F32, "input");
    SENET_CHECK(x.device() == out.device(), "sum_each_into: input ", i, " is on ",
                device_name(x.device()), ", out on ", device_name(out.device()));
    float* slot = out.data<float>() + offset + int64_t(i);
    if (out.is_cuda())
      cuda().sum(x.data<float>(), x.numel(), slot);
    else
      *slot = float(cpu::sum(x.data<float>(), x.numel()));
  }
}

void axpy_into(Tensor& out, int64_t i, float a, const Tensor& x) {
  check_dtype("axpy_into", out, DType::F32, "out");
  check_dtype("axpy_into", x, DType::F32, "x");
  SENET_CHECK(x.numel() == 1 && i >= 0 && i < out.numel() && x.device() == out.device(),
              "axpy_into: x ", x.shape(), " into element ", i, " of out ", out.shape());
  float* y = out.data<float>() + i;
  if (out.is_cuda())
    cuda().axpby(1.f, y, a, x.data<float>(), y, 1);
  else
    *y += a * *x.data<float>();
}

void count_correct_into(const Tensor& logits, const Tensor& labels, Tensor& counter) {
  check_labels("count_correct_into", logits, labels);
  check_dtype("count_correct_into", counter, DType::I32, "counter");
  SENET_CHECK(counter.numel() == 1 && counter.device() == logits.device(),
              "count_correct_into: counter ", counter.shape(), " on ",
              device_name(counter.device()));
  if (use_cuda("count_correct_into", {&logits, &labels}))
    cuda().count_correct_add(logits.data<float>(), labels.data<int32_t>(), logits.size(0),
                             logits.size(1), counter.data<int32_t>());
  else
    *counter.data<int32_t>() += int32_t(count_correct(logits, labels));
}

}  // namespace senet
