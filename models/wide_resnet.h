// models/wide_resnet.h — pre-activation WideResNet WRN-d-k (docs/method.md §ReLU sites), d = 6n + 4:
// stem conv 3→16; 3 groups of n blocks with widths 16k, 32k, 64k (strides 1, 2, 2); block =
// BN→ReLU→conv3×3(s)→BN→ReLU→conv3×3 plus the shortcut (identity, or a 1×1 conv fed by the block's
// first BN-ReLU on shape change); final BN→ReLU→avg pool→FC.
// Sites: "groupG.B.relu1" (on the block input), "groupG.B.relu2" (inside), "relu" (final; a site
// only if config.final_site). WRN-22-8 at 32×32: 19 sites, 1,392,640 ReLUs.
#pragma once
#include "models/model.h"

namespace senet::models {

class WideBlock : public nn::Module {
 public:
  WideBlock(int in_ch, int out_ch, int stride, Generator& gen);
  Tensor forward(const Tensor& x);
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
  std::shared_ptr<nn::Conv2d> conv1, conv2, shortcut;
  std::shared_ptr<ReluSite> relu1, relu2;
};

class WideResNet : public Model {
 public:
  explicit WideResNet(const ModelConfig& cfg);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1;
  std::vector<std::shared_ptr<WideBlock>> blocks;
  std::shared_ptr<nn::BatchNorm2d> bn;
  std::shared_ptr<ReluSite> relu;
  std::shared_ptr<nn::Linear> fc;
};

}  // namespace senet::models
