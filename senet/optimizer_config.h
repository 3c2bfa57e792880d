// senet/optimizer_config.h — the optimizer and the LR schedule a config's OptimConfig names:
// SGD (momentum, weight decay, Nesterov) or Adam (β = 0.9, 0.999, ε = 1e-8) over the model's
// named parameters; a constant, cosine (to min_lr over `epochs`) or multistep schedule, behind a
// linear warm-up of warmup_epochs when there is one. Every stage builds its optimizer here.
#pragma once
#include <memory>

#include "engine/optim/lr_schedule.h"
#include "engine/optim/optimizer.h"
#include "models/model.h"
#include "senet/config.h"

namespace senet {

std::unique_ptr<Optimizer> make_optimizer(const OptimConfig& cfg, models::Model& model);
std::unique_ptr<LrSchedule> make_schedule(const OptimConfig& cfg, int epochs);

}  // namespace senet
