// engine/ops/activation.cpp — relu and masked_relu: forward and backward side by side.
// Both run the same CPU kernel (a plain ReLU is the all-ones mask) and save only the pass bits.
#include "engine/ops/activation.h"

#include <algorithm>

#include "engine/core/autograd.h"
#include "engine/cpu/activation.h"
#include "engine/ops/dispatch.h"

namespace senet {

PassBits make_pass_bits(int64_t n) {
  return std::make_shared<std::vector<uint64_t>>(size_t(cpu::bit_words(n)));
}

const uint8_t* mask_per_element(const char* op, const Tensor& x, const Tensor& mask,
                                std::vector<uint8_t>& expanded) {
  SENET_CHECK(mask.defined(), op, ": a masked ReLU needs a mask for input ", x.shape());
  SENET_CHECK(x.ndim() == 4 || x.ndim() == 2, op, ": input ", x.shape(),
              " must be N×C×H×W or N×C (mask ", mask.shape(), ")");
  check_dtype(op, mask, DType::U8, "mask");
  check_same_device(op, x, mask);
  const int64_t C = x.size(1), HW = x.ndim() == 4 ? x.size(2) * x.size(3) : 1;
  const bool per_element = x.ndim() == 4 && mask.shape() == Shape{C, x.size(2), x.size(3)};
  const bool per_channel = mask.shape() == Shape{C};
  SENET_CHECK(per_element || per_channel, op, ": mask ", mask.shape(), " does not fit input ",
              x.shape(), " (expected [C, H, W] or [C])");
  const uint8_t* m = mask.data<uint8_t>();
  if (per_element || HW == 1) return m;
  expanded.resize(size_t(C * HW));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < HW; ++j) expanded[size_t(c * HW + j)] = m[c];
  return expanded.data();
}

// y = p ? x : 0 with p = !m || x > 0 (mask == nullptr: p = x > 0);  dx = p ? dy : 0.
static Tensor relu_impl(const char* op, const Tensor& x, const uint8_t* mask, int64_t L) {
  Tensor y = Tensor::empty_like(x);
  const int64_t n = x.numel();
  const bool grad = needs_grad({&x});
  PassBits bits = grad ? make_pass_bits(n) : nullptr;
  cpu::masked_relu_forward(x.data<float>(), mask, L, n, y.data<float>(), grad ? bits->data() : nullptr);
  if (grad)
    record(op, {x}, y, [bits, n](const Tensor& dy) -> std::vector<Tensor> {
      Tensor dx = Tensor::empty_like(dy);
      cpu::masked_relu_backward(dy.data<float>(), bits->data(), n, dx.data<float>());
      return {dx};
    });
  return y;
}

Tensor relu(const Tensor& x) {
  check_dtype("relu", x, DType::F32, "input");
  require_cpu("relu", {&x});
  return relu_impl("relu", x, nullptr, x.numel());
}

Tensor masked_relu(const Tensor& x, const Tensor& mask) {
  check_dtype("masked_relu", x, DType::F32, "input");
  require_cpu("masked_relu", {&x, &mask});
  std::vector<uint8_t> expanded;
  const uint8_t* m = mask_per_element("masked_relu", x, mask, expanded);
  return relu_impl("masked_relu", x, m, x.numel() / std::max<int64_t>(1, x.size(0)));
}

}  // namespace senet
