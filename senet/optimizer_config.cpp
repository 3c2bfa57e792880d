// senet/optimizer_config.cpp — optimizer and LR schedule from an OptimConfig.
#include "senet/optimizer_config.h"

#include <algorithm>
#include <vector>

#include "engine/optim/adam.h"
#include "engine/optim/sgd.h"

namespace senet {

std::unique_ptr<Optimizer> make_optimizer(const OptimConfig& c, models::Model& model) {
  std::vector<ParamRef> params;
  for (auto& [name, t] : model.named_parameters()) params.push_back({name, t});
  if (c.name == OptimizerKind::Adam)
    return std::make_unique<Adam>(params, c.lr, 0.9f, 0.999f, 1e-8f, c.weight_decay);
  return std::make_unique<SGD>(params, c.lr, c.momentum, c.weight_decay, c.nesterov);
}

std::unique_ptr<LrSchedule> make_schedule(const OptimConfig& c, int epochs) {
  std::unique_ptr<LrSchedule> s;
  if (c.schedule == Schedule::Cosine)
    s = std::make_unique<Cosine>(c.lr, std::max(1, epochs), c.min_lr);
  else if (c.schedule == Schedule::Multistep)
    s = std::make_unique<MultiStep>(
        c.lr, std::vector<int64_t>(c.milestones.begin(), c.milestones.end()), c.gamma);
  else
    s = std::make_unique<Constant>(c.lr);
  if (c.warmup_epochs > 0)
    s = std::make_unique<LinearWarmup>(std::shared_ptr<const LrSchedule>(std::move(s)),
                                       c.warmup_epochs);
  return s;
}

}  // namespace senet
