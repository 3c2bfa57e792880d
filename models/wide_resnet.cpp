// models/wide_resnet.cpp — construction and forward of pre-activation WRN-d-k.
#include "models/wide_resnet.h"

#include <cmath>

#include "engine/ops/bn_act.h"
#include "engine/ops/conv_bn_act.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/global_avg_pool.h"
#include "engine/ops/preact_block.h"

namespace senet::models {

WideBlock::WideBlock(int in_ch, int out_ch, int stride, Generator& gen) {
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(in_ch));
  conv1 = register_module("conv1",
                          std::make_shared<nn::Conv2d>(in_ch, out_ch, 3, stride, 1, false, gen));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(out_ch));
  conv2 =
      register_module("conv2", std::make_shared<nn::Conv2d>(out_ch, out_ch, 3, 1, 1, false, gen));
  if (stride != 1 || in_ch != out_ch)
    shortcut = register_module(
        "shortcut", std::make_shared<nn::Conv2d>(in_ch, out_ch, 1, stride, 0, false, gen));
}

Tensor WideBlock::forward(const Tensor& x) {
  bool tr = is_training();
  // Both sites' activations feed convs alone: one op for the block, so that on CUDA each conv
  // applies the BN and activation before it while loading its input (engine/ops/preact_block.h)
  // — unless a site computes its activation itself (unfused modes) or its output is kept
  // (capture: mask search, PRAM).
  if (!relu1->unfused() && !relu1->capture && !relu2->unfused() && !relu2->capture) {
    PreactBlockArgs b;
    b.bn1 = {bn1->weight, bn1->bias, &bn1->state, relu1->fused_act(), relu1->fused_mask()};
    b.w1 = conv1->weight, b.stride = conv1->stride;
    b.bn2 = {bn2->weight, bn2->bias, &bn2->state, relu2->fused_act(), relu2->fused_mask()};
    b.w2 = conv2->weight;
    if (shortcut) b.w_shortcut = shortcut->weight;
    return preact_block(x, b, tr);
  }
  Tensor a = relu1->output(bn_act(x, Tensor(), bn1->weight, bn1->bias, bn1->state, tr,
                                  relu1->fused_act(), relu1->fused_mask()));
  Tensor h = relu2->output(conv_bn_act(a, conv1->weight, bn2->weight, bn2->bias, bn2->state, tr,
                                       relu2->fused_act(), relu2->fused_mask(), conv1->stride, 1));
  Tensor y = conv2->forward(h);
  return add(y, shortcut ? shortcut->forward(a) : x);
}

WideResNet::WideResNet(const ModelConfig& cfg) : Model(cfg) {
  SENET_CHECK(cfg.wrn_depth >= 10 && (cfg.wrn_depth - 4) % 6 == 0,
              "model.wrn_depth must be 6n+4 (e.g. 16, 22, 28), got ", cfg.wrn_depth);
  SENET_CHECK(cfg.wrn_k >= 1, "model.wrn_k must be ≥ 1, got ", cfg.wrn_k);
  int n = (cfg.wrn_depth - 4) / 6;
  auto width = [&](int base) { return std::max(1, int(std::lround(base * cfg.width))); };
  Generator gen(cfg.seed);
  int S = cfg.image_size, c0 = width(16);
  conv1 = register_module("conv1",
                          std::make_shared<nn::Conv2d>(cfg.in_channels, c0, 3, 1, 1, false, gen));
  macs_ += conv1->macs(S, S);
  int in = c0, H = S;
  std::string producer = "conv1.weight";  // the conv whose output feeds the next BN-ReLU
  for (int g = 0; g < 3; ++g) {
    int out = width(16 * cfg.wrn_k << g);
    for (int b = 0; b < n; ++b) {
      int stride = (g > 0 && b == 0) ? 2 : 1;
      std::string name = "group" + std::to_string(g + 1) + "." + std::to_string(b);
      auto block = std::make_shared<WideBlock>(in, out, stride, gen);
      int P = (H + 2 - 3) / stride + 1;
      block->relu1 = block->register_module("relu1", add_site(name + ".relu1", in, H, H, true));
      block->relu2 = block->register_module("relu2", add_site(name + ".relu2", out, P, P, true));
      block->relu1->feeding_conv = producer;
      block->relu2->feeding_conv = name + ".conv1.weight";
      producer = name + ".conv2.weight";  // (the block output is conv2 + shortcut: conv2 feeds it)
      macs_ += block->conv1->macs(H, H) + block->conv2->macs(P, P);
      if (block->shortcut) macs_ += block->shortcut->macs(H, H);
      blocks.push_back(register_module(name, block));
      in = out;
      H = P;
    }
  }
  bn = register_module("bn", std::make_shared<nn::BatchNorm2d>(in));
  relu = register_module("relu", add_site("relu", in, H, H, cfg.final_site));
  relu->feeding_conv = producer;
  fc = register_module("fc", std::make_shared<nn::Linear>(in, cfg.num_classes, gen));
  macs_ += int64_t(in) * cfg.num_classes;
}

Tensor WideResNet::forward(const Tensor& x) {
  SENET_CHECK(x.ndim() == 4 && x.size(1) == config.in_channels && x.size(2) == config.image_size &&
                  x.size(3) == config.image_size,
              "wrn: input ", x.shape(), " does not match the model's input [N, ",
              config.in_channels, ", ", config.image_size, ", ", config.image_size, "]");
  Tensor h = conv1->forward(x);
  for (auto& b : blocks) h = b->forward(h);
  h = relu->output(bn_act(h, Tensor(), bn->weight, bn->bias, bn->state, is_training(),
                          relu->fused_act(), relu->fused_mask()));
  return fc->forward(global_avg_pool(h));
}

}  // namespace senet::models
