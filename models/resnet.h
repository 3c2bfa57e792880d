// models/resnet.h — ResNet-18/34, CIFAR form (docs/method.md §ReLU sites): 3×3 stride-1 stem conv + BN + ReLU,
// no max-pool, BasicBlocks [2,2,2,2] (18) or [3,4,6,3] (34) with widths 64·w, 128·w, 256·w, 512·w,
// a 1×1-conv + BN shortcut on shape change, ReLU after the residual add, global avg pool, FC.
// ReLU sites: stem ("relu0"), then per block "layerL.B.relu1" (after bn1) and "layerL.B.relu2"
// (after the add). Each conv→BN→ReLU runs as the fused conv_bn_act; the post-residual site as the
// fused bn_act (BN → add → masked ReLU).
// Width-switchable (config.width_factors, models/width_switch.h): every BN has one set per factor
// (bn_sets[f]; the full-width set is the BN itself), convs and the FC use the leading block of
// their weights at the current factor. A plain model is the one-factor case {1}: the same code
// path.
#pragma once
#include "models/model.h"

namespace senet::models {

using BnSets = std::vector<std::shared_ptr<nn::BatchNorm2d>>;  // one BN per width factor

class BasicBlock : public nn::Module {
 public:
  // percents: the model's width factors in hundredths; macs[f] accumulates the block's MACs at f.
  BasicBlock(int in_ch, int out_ch, int stride, int H, int W, Generator& gen,
             const std::vector<int>& percents, std::vector<int64_t>& macs);
  Tensor forward(const Tensor& x, size_t f);  // f: index of the width factor
  int in_ch, out_ch;
  std::vector<int> percents;
  std::shared_ptr<nn::Conv2d> conv1, conv2, shortcut_conv;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2, shortcut_bn;  // the full-width sets
  BnSets bn1_sets, bn2_sets, shortcut_bn_sets;
  std::shared_ptr<ReluSite> relu1, relu2;
};

class ResNet : public Model {
 public:
  explicit ResNet(const ModelConfig& cfg);
  Tensor forward(const Tensor& x) override;
  void set_width(float s) override;
  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  BnSets bn1_sets;
  std::shared_ptr<ReluSite> relu0;
  std::vector<std::shared_ptr<BasicBlock>> blocks;
  std::shared_ptr<nn::Linear> fc;

 private:
  std::vector<int> percents_;     // width factors in hundredths ({100} for a plain model)
  std::vector<int64_t> macs_at_;  // MACs per factor
  size_t factor_ = 0;             // index of the current factor
};

}  // namespace senet::models
