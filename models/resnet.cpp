// models/resnet.cpp — construction (shapes, sites, MACs) and the fused forward of ResNet-18/34.
#include "models/resnet.h"

#include <cmath>

#include "engine/ops/bn_act.h"
#include "engine/ops/conv_bn_act.h"
#include "engine/ops/global_avg_pool.h"

namespace senet::models {

// The model's site registry is the owner's; the block also registers each site as its child so
// that masks are saved under "layer1.0.relu1.mask".
BasicBlock::BasicBlock(Model& owner, const std::string& name, int in_ch, int out_ch, int stride,
                       int H, int W, Generator& gen, int64_t* macs) {
  (void)owner;
  int P = (H + 2 - 3) / stride + 1, Q = (W + 2 - 3) / stride + 1;
  conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(in_ch, out_ch, 3, stride, 1, false, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(out_ch));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(out_ch, out_ch, 3, 1, 1, false, gen));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(out_ch));
  *macs += conv1->macs(H, W) + conv2->macs(P, Q);
  if (stride != 1 || in_ch != out_ch) {
    shortcut_conv = register_module("shortcut.0",
                                    std::make_shared<nn::Conv2d>(in_ch, out_ch, 1, stride, 0, false, gen));
    shortcut_bn = register_module("shortcut.1", std::make_shared<nn::BatchNorm2d>(out_ch));
    *macs += shortcut_conv->macs(H, W);
  }
  (void)name;
}

Tensor BasicBlock::forward(const Tensor& x) {
  bool tr = is_training();
  Tensor a1 = relu1->output(conv_bn_act(x, conv1->weight, bn1->weight, bn1->bias, bn1->state, tr,
                                         relu1->fused_act(), relu1->fused_mask(), conv1->stride, 1));
  Tensor y2 = conv2->forward(a1);
  Tensor sc = x;
  if (shortcut_conv)
    sc = bn_act(shortcut_conv->forward(x), Tensor(), shortcut_bn->weight, shortcut_bn->bias,
                shortcut_bn->state, tr, Act::None, Tensor());
  return relu2->output(bn_act(y2, sc, bn2->weight, bn2->bias, bn2->state, tr, relu2->fused_act(),
                               relu2->fused_mask()));
}

ResNet::ResNet(const ModelConfig& cfg) : Model(cfg) {
  std::vector<int> depth = cfg.arch == "resnet34" ? std::vector<int>{3, 4, 6, 3}
                                                  : std::vector<int>{2, 2, 2, 2};
  auto width = [&](int base) { return std::max(1, int(std::lround(base * cfg.width))); };
  Generator gen(cfg.seed);
  int S = cfg.image_size;
  int c0 = width(64);
  conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(cfg.in_channels, c0, 3, 1, 1, false, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(c0));
  relu0 = register_module("relu0", add_site("relu0", c0, S, S, cfg.stem_site));
  relu0->feeding_conv = "conv1.weight";
  macs_ += conv1->macs(S, S);
  int in = c0, H = S;
  for (int layer = 0; layer < 4; ++layer) {
    int out = width(64 << layer);
    for (int b = 0; b < depth[layer]; ++b) {
      int stride = (layer > 0 && b == 0) ? 2 : 1;
      std::string name = "layer" + std::to_string(layer + 1) + "." + std::to_string(b);
      auto block = std::make_shared<BasicBlock>(*this, name, in, out, stride, H, H, gen, &macs_);
      int P = (H + 2 - 3) / stride + 1;
      block->relu1 = block->register_module("relu1", add_site(name + ".relu1", out, P, P, true));
      block->relu2 = block->register_module("relu2", add_site(name + ".relu2", out, P, P, true));
      block->relu1->feeding_conv = name + ".conv1.weight";
      block->relu2->feeding_conv = name + ".conv2.weight";
      blocks.push_back(register_module(name, block));
      in = out;
      H = P;
    }
  }
  fc = register_module("fc", std::make_shared<nn::Linear>(in, cfg.num_classes, gen));
  macs_ += int64_t(in) * cfg.num_classes;
}

Tensor ResNet::forward(const Tensor& x) {
  SENET_CHECK(x.ndim() == 4 && x.size(1) == config.in_channels && x.size(2) == config.image_size &&
                  x.size(3) == config.image_size,
              "resnet: input ", x.shape(), " does not match the model's input [N, ",
              config.in_channels, ", ", config.image_size, ", ", config.image_size, "]");
  Tensor h = relu0->output(conv_bn_act(x, conv1->weight, bn1->weight, bn1->bias, bn1->state,
                                        is_training(), relu0->fused_act(), relu0->fused_mask(), 1, 1));
  for (auto& b : blocks) h = b->forward(h);
  return fc->forward(global_avg_pool(h));
}

}  // namespace senet::models
