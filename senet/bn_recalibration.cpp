// senet/bn_recalibration.cpp — see bn_recalibration.h.
#include "senet/bn_recalibration.h"

#include <memory>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/nn/layers.h"
#include "senet/data_parallel.h"
#include "senet/trainer.h"

namespace senet {

static void collect_bn(const nn::Module& m, std::vector<nn::BatchNorm2d*>& out) {
  for (const auto& [name, child] : m.children()) {
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(child.get())) out.push_back(bn);
    collect_bn(*child, out);
  }
}

std::vector<nn::BatchNorm2d*> batchnorm_layers(const nn::Module& m) {
  std::vector<nn::BatchNorm2d*> out;
  collect_bn(m, out);
  return out;
}

int64_t recompute_bn_statistics(models::Model& model, data::Loader& loader, int64_t epoch,
                                int64_t batches) {
  SENET_CHECK(model.width_factors().size() == 1,
              "recompute_bn_statistics: a width-switchable model has one BN set per width factor; "
              "recompute them per factor (this is for plain models)");
  const std::vector<nn::BatchNorm2d*> bns = batchnorm_layers(model);
  if (bns.empty() || batches <= 0) return 0;
  std::vector<float> momentum;
  for (auto* bn : bns) {
    momentum.push_back(bn->state.momentum);
    const Device d = bn->state.running_mean.device();
    bn->state.running_mean.copy_(Tensor::zeros(bn->state.running_mean.shape(), DType::F32, d));
    bn->state.running_var.copy_(Tensor::full(bn->state.running_var.shape(), 1.f, d));
  }
  const bool was_training = model.is_training();
  model.train();
  NoGradGuard no_grad;
  loader.start_epoch(epoch);
  data::Batch b;
  int64_t k = 0;
  while (k < batches && loader.next(b)) {
    ++k;
    for (auto* bn : bns) bn->state.momentum = 1.f / float(k);
    model.forward(batch_images(b, model.device()));
  }
  for (size_t i = 0; i < bns.size(); ++i) bns[i]->state.momentum = momentum[i];
  average_bn_buffers_over_ranks(model);  // data-parallel with per-rank statistics
  model.train(was_training);
  return k;
}

}  // namespace senet
