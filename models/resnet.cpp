// models/resnet.cpp — construction (shapes, sites, MACs, BN sets per width factor) and the fused
// forward of ResNet-18/34 at the current width factor.
#include "models/resnet.h"

#include <cmath>

#include "engine/ops/conv_bn_act.h"
#include "engine/ops/conv_bn_act_pair.h"
#include "engine/ops/global_avg_pool.h"
#include "engine/ops/leading_block.h"
#include "engine/ops/linear.h"
#include "models/width_switch.h"

namespace senet::models {

// One BN per factor: `full` itself at 100, else its child "wNNN" with ⌊s·C⌋ channels.
static BnSets bn_sets(const std::shared_ptr<nn::BatchNorm2d>& full,
                      const std::vector<int>& percents) {
  BnSets sets;
  for (int p : percents)
    sets.push_back(p == 100 ? full
                            : full->register_module(width_set_name(p),
                                                    std::make_shared<nn::BatchNorm2d>(
                                                        width_channels(full->channels, p))));
  return sets;
}

// Multiply-adds of `c` on an H×W input when it uses out × in of its channels.
static int64_t conv_macs(const nn::Conv2d& c, int out, int in, int H, int W) {
  return int64_t(out) * in * c.kernel * c.kernel * c.out_size(H) * c.out_size(W);
}

// W[:⌊s·K⌋, :⌊s·C⌋] (the whole weight at s = 1).
static Tensor conv_weight(const nn::Conv2d& c, int p, bool full_input = false) {
  return leading_block(c.weight, width_channels(c.out_ch, p),
                       full_input ? c.in_ch : width_channels(c.in_ch, p));
}

BasicBlock::BasicBlock(int in, int out, int stride, int H, int W, Generator& gen,
                       const std::vector<int>& pcts, std::vector<int64_t>& macs)
    : in_ch(in), out_ch(out), percents(pcts) {
  conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(in, out, 3, stride, 1, false, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(out));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(out, out, 3, 1, 1, false, gen));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(out));
  if (stride != 1 || in != out) {
    shortcut_conv = register_module(
        "shortcut.0", std::make_shared<nn::Conv2d>(in, out, 1, stride, 0, false, gen));
    shortcut_bn = register_module("shortcut.1", std::make_shared<nn::BatchNorm2d>(out));
    shortcut_bn_sets = bn_sets(shortcut_bn, percents);
  }
  bn1_sets = bn_sets(bn1, percents);
  bn2_sets = bn_sets(bn2, percents);
  const int P = conv1->out_size(H), Q = conv1->out_size(W);
  for (size_t f = 0; f < percents.size(); ++f) {
    const int ci = width_channels(in, percents[f]), co = width_channels(out, percents[f]);
    macs[f] += conv_macs(*conv1, co, ci, H, W) + conv_macs(*conv2, co, co, P, Q);
    if (shortcut_conv) macs[f] += conv_macs(*shortcut_conv, co, ci, H, W);
  }
}

Tensor BasicBlock::forward(const Tensor& x, size_t f) {
  const bool tr = is_training();
  const int p = percents[f];
  nn::BatchNorm2d &b1 = *bn1_sets[f], &b2 = *bn2_sets[f];
  // The shortcut's conv → BN and the second conv → BN → (+ shortcut) → act are fused like the first.
  Tensor sc = x;
  if (shortcut_conv) {
    nn::BatchNorm2d& bs = *shortcut_bn_sets[f];
    sc = conv_bn_act(x, conv_weight(*shortcut_conv, p), bs.weight, bs.bias, bs.state, tr, Act::None,
                     Tensor(), shortcut_conv->stride, shortcut_conv->pad);
  }
  const ConvBnActLayer l1{conv_weight(*conv1, p), b1.weight,           b1.bias,       &b1.state,
                          relu1->fused_act(),     relu1->fused_mask(), conv1->stride, 1};
  const ConvBnActLayer l2{conv_weight(*conv2, p), b2.weight,           b2.bias,       &b2.state,
                          relu2->fused_act(),     relu2->fused_mask(), conv2->stride, conv2->pad};
  // Site 1's activation feeds conv2 alone: one op for the pair, so that on CUDA conv2 applies it
  // while loading conv1's output (engine/ops/conv_bn_act_pair.h) — unless the site computes it
  // itself (unfused modes) or its output is kept (capture: mask search, PRAM).
  if (!relu1->unfused() && !relu1->capture)
    return relu2->output(conv_bn_act_pair(x, l1, l2, tr, sc));
  Tensor a1 = relu1->output(
      conv_bn_act(x, l1.w, l1.gamma, l1.beta, *l1.st, tr, l1.act, l1.mask, l1.stride, l1.pad));
  return relu2->output(
      conv_bn_act(a1, l2.w, l2.gamma, l2.beta, *l2.st, tr, l2.act, l2.mask, l2.stride, l2.pad, sc));
}

ResNet::ResNet(const ModelConfig& cfg) : Model(cfg) {
  std::vector<int> depth =
      cfg.arch == Arch::ResNet34 ? std::vector<int>{3, 4, 6, 3} : std::vector<int>{2, 2, 2, 2};
  auto width = [&](int base) { return std::max(1, int(std::lround(base * cfg.width))); };
  for (float s : width_factors()) percents_.push_back(width_percent(s, "model.width_factors"));
  macs_at_.assign(percents_.size(), 0);
  factor_ = percents_.size() - 1;  // factors increase and end with 1
  Generator gen(cfg.seed);
  int S = cfg.image_size;
  int c0 = width(64);
  conv1 = register_module("conv1",
                          std::make_shared<nn::Conv2d>(cfg.in_channels, c0, 3, 1, 1, false, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(c0));
  bn1_sets = bn_sets(bn1, percents_);
  relu0 = register_module("relu0", add_site("relu0", c0, S, S, cfg.stem_site));
  relu0->feeding_conv = "conv1.weight";
  for (size_t f = 0; f < percents_.size(); ++f)
    macs_at_[f] += conv_macs(*conv1, width_channels(c0, percents_[f]), cfg.in_channels, S, S);
  int in = c0, H = S;
  for (int layer = 0; layer < 4; ++layer) {
    int out = width(64 << layer);
    for (int b = 0; b < depth[layer]; ++b) {
      int stride = (layer > 0 && b == 0) ? 2 : 1;
      std::string name = "layer" + std::to_string(layer + 1) + "." + std::to_string(b);
      auto block = std::make_shared<BasicBlock>(in, out, stride, H, H, gen, percents_, macs_at_);
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
  for (size_t f = 0; f < percents_.size(); ++f)
    macs_at_[f] += int64_t(width_channels(in, percents_[f])) * cfg.num_classes;
  macs_ = macs_at_[factor_];
  for (size_t f = 0; f < percents_.size(); ++f)
    for (auto* site : sites())
      SENET_CHECK(width_channels(site->C, percents_[f]) >= 1, "model.width_factors: factor ",
                  percents_[f] / 100.0, " leaves site ", site->site_name, " (", site->C,
                  " channels) with no channel");
}

void ResNet::set_width(float s) {
  const int p = width_percent(s, "set_width");
  size_t f = 0;
  while (f < percents_.size() && percents_[f] != p) ++f;
  if (f == percents_.size()) {
    std::string list;
    for (int q : percents_)
      list += (list.empty() ? "" : ", ") + std::to_string(q / 100.0).substr(0, 4);
    fail("model: width factor ", s, " is not one of the model's factors [", list,
         "] (model.width_factors)");
  }
  for (auto* site : sites())
    SENET_CHECK(p == 100 || site->mode == SiteMode::ReLU || site->mode == SiteMode::Masked, "site ",
                site->site_name, ": learned and α sites run at full width only (width ", s, ")");
  factor_ = f;
  width_ = float(p) / 100.f;
  macs_ = macs_at_[f];
  for (auto* site : sites()) site->active_channels = width_channels(site->C, p);
}

Tensor ResNet::forward(const Tensor& x) {
  SENET_CHECK(x.ndim() == 4 && x.size(1) == config.in_channels && x.size(2) == config.image_size &&
                  x.size(3) == config.image_size,
              "resnet: input ", x.shape(), " does not match the model's input [N, ",
              config.in_channels, ", ", config.image_size, ", ", config.image_size, "]");
  const int p = percents_[factor_];
  nn::BatchNorm2d& b = *bn1_sets[factor_];
  Tensor h = relu0->output(conv_bn_act(x, conv_weight(*conv1, p, /*full_input=*/true), b.weight,
                                       b.bias, b.state, is_training(), relu0->fused_act(),
                                       relu0->fused_mask(), 1, 1));
  for (auto& blk : blocks) h = blk->forward(h, factor_);
  return linear(global_avg_pool(h),
                leading_block(fc->weight, fc->out_features, width_channels(fc->in_features, p)),
                fc->bias);
}

}  // namespace senet::models
