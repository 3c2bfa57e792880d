// engine/nn/layers.cpp — construction and forward of the basic layers.
#include "engine/nn/layers.h"

#include <algorithm>
#include <cmath>

#include "engine/core/autograd.h"
#include "engine/core/random.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linear.h"

namespace senet::nn {

Conv2d::Conv2d(int in, int out, int k, int s, int p, bool has_bias, Generator& gen)
    : in_ch(in), out_ch(out), kernel(k), stride(s), pad(p) {
  weight = kaiming_normal({out, in, k, k}, int64_t(in) * k * k, gen);
  register_parameter("weight", &weight);
  if (has_bias) {
    bias = Tensor::zeros({out});
    register_parameter("bias", &bias);
  }
}

Tensor Conv2d::forward(const Tensor& x) const { return conv2d(x, weight, bias, stride, pad); }

int64_t Conv2d::macs(int64_t H, int64_t W) const {
  return int64_t(out_ch) * in_ch * kernel * kernel * out_size(H) * out_size(W);
}

BatchNorm2d::BatchNorm2d(int c, float momentum, float eps) : channels(c) {
  weight = Tensor::full({c}, 1.f);
  bias = Tensor::zeros({c});
  state.running_mean = Tensor::zeros({c});
  state.running_var = Tensor::full({c}, 1.f);
  state.momentum = momentum;
  state.eps = eps;
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  register_buffer("running_mean", &state.running_mean);
  register_buffer("running_var", &state.running_var);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  return batch_norm2d(x, weight, bias, state, is_training());
}

Linear::Linear(int in, int out, Generator& gen) : in_features(in), out_features(out) {
  float bound = 1.f / std::sqrt(float(in));
  weight = rand_uniform({out, in}, gen, -bound, bound);
  bias = rand_uniform({out}, gen, -bound, bound);
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

MaskedReLU::MaskedReLU(int c, int h, int w) : C(c), H(h), W(w) {
  mask = Tensor::empty({c, h, w}, DType::U8);
  std::fill_n(mask.data<uint8_t>(), mask.numel(), uint8_t(1));
  register_buffer("mask", &mask);
}

void MaskedReLU::set_mask(const Tensor& m, const std::string& what) {
  SENET_CHECK(m.dtype() == DType::U8, what, ": mask must be u8, got ", m.dtype());
  bool pixel = m.shape() == Shape({C, H, W}), channel = m.shape() == Shape({C});
  SENET_CHECK(pixel || channel, what, ": mask shape ", m.shape(), " is neither [", C, ", ", H, ", ",
              W, "] (pixel-wise) nor [", C, "] (channel-wise)");
  for (uint8_t v : m.to_vector_u8())
    SENET_CHECK(v <= 1, what, ": mask values must be 0 or 1, got ", int(v));
  mask = m.to(device());
}

Tensor MaskedReLU::forward(const Tensor& z, bool masked) const {
  return masked ? masked_relu(z, mask) : relu(z);
}

}  // namespace senet::nn
