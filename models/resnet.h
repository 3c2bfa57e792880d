// models/resnet.h — ResNet-18/34, CIFAR form (SENET_SPEC.md): 3×3 stride-1 stem conv + BN + ReLU,
// no max-pool, BasicBlocks [2,2,2,2] (18) or [3,4,6,3] (34) with widths 64·w, 128·w, 256·w, 512·w,
// a 1×1-conv + BN shortcut on shape change, ReLU after the residual add, global avg pool, FC.
// ReLU sites: stem ("relu0"), then per block "layerL.B.relu1" (after bn1) and "layerL.B.relu2"
// (after the add). Each conv→BN→ReLU runs as the fused conv_bn_act; the post-residual site as the
// fused bn_act (BN → add → masked ReLU).
#pragma once
#include "models/model.h"

namespace senet::models {

class BasicBlock : public nn::Module {
 public:
  BasicBlock(Model& owner, const std::string& name, int in_ch, int out_ch, int stride, int H, int W,
             Generator& gen, int64_t* macs);
  Tensor forward(const Tensor& x);
  std::shared_ptr<nn::Conv2d> conv1, conv2, shortcut_conv;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2, shortcut_bn;
  std::shared_ptr<nn::ReluSite> relu1, relu2;
};

class ResNet : public Model {
 public:
  explicit ResNet(const ModelConfig& cfg);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::ReluSite> relu0;
  std::vector<std::shared_ptr<BasicBlock>> blocks;
  std::shared_ptr<nn::Linear> fc;
};

}  // namespace senet::models
