// engine/nn/layers.h — the layers ResNets are made of, as Modules holding their tensors:
//   Conv2d       weight K×C×R×S (+ bias K)      y = conv2d(x, w) (+ b)
//   BatchNorm2d  weight γ, bias β (C); buffers running_mean, running_var
//   Linear       weight O×F, bias O             y = x·Wᵀ + b
//   MaskedReLU   C×H×W ReLUs with a u8 mask: y = m ? max(x,0) : x (buffer "mask", [C,H,W] or [C])
// Initialisation: Kaiming-normal convs (fan_in), γ = 1, β = 0, Linear uniform ±1/√F (PyTorch's).
#pragma once
#include <string>

#include "engine/core/rng.h"
#include "engine/nn/module.h"
#include "engine/ops/activation.h"
#include "engine/ops/batchnorm.h"

namespace senet::nn {

class Conv2d : public Module {
 public:
  Conv2d(int in_ch, int out_ch, int kernel, int stride, int pad, bool bias, Generator& gen);
  Tensor forward(const Tensor& x) const;
  int in_ch, out_ch, kernel, stride, pad;
  Tensor weight, bias;
  int64_t macs(int64_t H, int64_t W) const;  // multiply-adds for one H×W input
  int64_t out_size(int64_t in) const { return (in + 2 * pad - kernel) / stride + 1; }
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int channels, float momentum = 0.1f, float eps = 1e-5f);
  Tensor forward(const Tensor& x);
  int channels;
  Tensor weight, bias;
  BatchNormState state;
};

class Linear : public Module {
 public:
  Linear(int in_features, int out_features, Generator& gen);
  Tensor forward(const Tensor& x) const;
  int in_features, out_features;
  Tensor weight, bias;
};

// A layer of C×H×W ReLUs of which a mask keeps some: y = m ? max(z, 0) : z (identity where m = 0).
// The mask is the buffer "mask", u8, [C,H,W] pixel-wise or [C] channel-wise; all ones (every
// position a ReLU) until set_mask. This is the engine's whole notion of a partial-ReLU layer; what
// SENet and its baselines add (a site's name and budget convention, learned scores, SNL's α,
// activation capture, width factors) lives in models/relu_site.h.
class MaskedReLU : public Module {
 public:
  MaskedReLU(int C, int H, int W);
  int C, H, W;
  Tensor mask;
  int64_t size() const { return int64_t(C) * H * W; }
  bool channel_wise() const { return mask.ndim() == 1; }
  // Validates shape ([C,H,W] or [C]), dtype u8 and values 0/1 (messages name `what`), keeps a copy
  // on this layer's device.
  void set_mask(const Tensor& m, const std::string& what = "masked ReLU");
  Tensor forward(const Tensor& z, bool masked = true) const;  // masked: masked_relu, else relu
};

}  // namespace senet::nn
