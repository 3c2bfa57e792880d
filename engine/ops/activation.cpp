// engine/ops/activation.cpp — relu and masked_relu: forward and backward side by side.
// Both run the same CPU kernel (a plain ReLU is the all-ones mask) and save only the pass bits;
// CUDA tensors run masked_relu_{forward,backward} (bits on the device, uint32 words).
#include "engine/ops/activation.h"

#include <algorithm>

#include "engine/core/autograd.h"
#include "engine/cpu/activation.h"
#include "engine/ops/dispatch.h"

namespace senet {

PassBits make_pass_bits(int64_t n) {
  return std::make_shared<std::vector<uint64_t>>(size_t(cpu::bit_words(n)));
}

bool check_mask(const char* op, const Tensor& x, const Tensor& mask) {
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
  return !per_element && HW != 1;
}

const uint8_t* mask_per_element(const char* op, const Tensor& x, const Tensor& mask,
                                std::vector<uint8_t>& expanded) {
  const bool per_channel = check_mask(op, x, mask);
  const uint8_t* m = mask.data<uint8_t>();
  if (!per_channel) return m;
  const int64_t C = x.size(1), HW = x.size(2) * x.size(3);
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
  cpu::masked_relu_forward(x.data<float>(), mask, L, n, y.data<float>(),
                           grad ? bits->data() : nullptr);
  if (grad)
    record(op, {x}, y, [bits, n](const Tensor& dy) -> std::vector<Tensor> {
      Tensor dx = Tensor::empty_like(dy);
      cpu::masked_relu_backward(dy.data<float>(), bits->data(), n, dx.data<float>());
      return {dx};
    });
  return y;
}

// The same on the device: mask null (ReLU), L bytes per image, or per channel (mask_hw = H·W).
static Tensor relu_cuda(const char* op, const Tensor& x, const Tensor& mask, int64_t L,
                        int64_t mask_hw) {
  Tensor y = Tensor::empty_like(x);
  const int64_t n = x.numel();
  const bool grad = needs_grad({&x});
  Tensor bits = grad ? cuda_pass_bits(n) : Tensor();
  cuda().masked_relu_forward(x.data<float>(), ptr_or_null<uint8_t>(mask), L, mask_hw, n,
                             y.data<float>(), bits_ptr(bits));
  if (grad)
    record(op, {x}, y, [bits, n](const Tensor& dy) -> std::vector<Tensor> {
      Tensor dx = Tensor::empty_like(dy);
      cuda().masked_relu_backward(dy.data<float>(), bits_ptr(bits), n, dx.data<float>());
      return {dx};
    });
  return y;
}

Tensor relu(const Tensor& x) {
  check_dtype("relu", x, DType::F32, "input");
  if (use_cuda("relu", {&x})) return relu_cuda("relu", x, Tensor(), x.numel(), 0);
  return relu_impl("relu", x, nullptr, x.numel());
}

Tensor masked_relu(const Tensor& x, const Tensor& mask) {
  check_dtype("masked_relu", x, DType::F32, "input");
  const int64_t L = x.numel() / std::max<int64_t>(1, x.size(0));
  if (use_cuda("masked_relu", {&x, &mask})) {
    const bool per_channel = check_mask("masked_relu", x, mask);
    return relu_cuda("masked_relu", x, mask, L, per_channel ? x.size(2) * x.size(3) : 0);
  }
  std::vector<uint8_t> expanded;
  const uint8_t* m = mask_per_element("masked_relu", x, mask, expanded);
  return relu_impl("masked_relu", x, m, L);
}

}  // namespace senet
