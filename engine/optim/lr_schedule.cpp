// engine/optim/lr_schedule.cpp — see lr_schedule.h.
#include "engine/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace senet {

LrSchedule::~LrSchedule() = default;

static void check_lr(const char* what, float lr) {
  SENET_CHECK(std::isfinite(lr) && lr >= 0, what, ": learning rate must be ≥ 0, got ", lr);
}

Constant::Constant(float lr_) : lr(lr_) { check_lr("Constant", lr); }
float Constant::lr_at(int64_t, double) const { return lr; }

MultiStep::MultiStep(float base_, std::vector<int64_t> milestones_, float gamma_)
    : base(base_), milestones(std::move(milestones_)), gamma(gamma_) {
  check_lr("MultiStep", base);
  SENET_CHECK(std::isfinite(gamma) && gamma >= 0, "MultiStep: gamma must be ≥ 0, got ", gamma);
  std::sort(milestones.begin(), milestones.end());
}
float MultiStep::lr_at(int64_t epoch, double) const {
  double lr = base;
  for (int64_t m : milestones)
    if (epoch >= m) lr *= gamma;
  return float(lr);
}

Cosine::Cosine(float base_, int64_t total_epochs_, float min_lr_)
    : base(base_), total_epochs(total_epochs_), min_lr(min_lr_) {
  check_lr("Cosine", base);
  check_lr("Cosine (min_lr)", min_lr);
  SENET_CHECK(total_epochs > 0, "Cosine: total_epochs must be > 0, got ", total_epochs);
}
float Cosine::lr_at(int64_t epoch, double epoch_fraction) const {
  const double E = double(total_epochs);
  const double t = std::clamp(double(epoch) + epoch_fraction, 0.0, E);
  return float(min_lr + (double(base) - min_lr) * 0.5 * (1.0 + std::cos(M_PI * t / E)));
}

LinearWarmup::LinearWarmup(std::shared_ptr<const LrSchedule> inner_, double warmup_epochs_,
                           float start_factor_)
    : inner(std::move(inner_)), warmup_epochs(warmup_epochs_), start_factor(start_factor_) {
  SENET_CHECK(inner != nullptr, "LinearWarmup: no inner schedule");
  SENET_CHECK(std::isfinite(warmup_epochs) && warmup_epochs >= 0,
              "LinearWarmup: warmup_epochs must be ≥ 0, got ", warmup_epochs);
  SENET_CHECK(start_factor >= 0 && start_factor <= 1,
              "LinearWarmup: start_factor must be in [0, 1], got ", start_factor);
}
float LinearWarmup::lr_at(int64_t epoch, double epoch_fraction) const {
  const float lr = inner->lr_at(epoch, epoch_fraction);
  const double t = double(epoch) + epoch_fraction;
  if (t >= warmup_epochs) return lr;
  const double f = start_factor + (1.0 - start_factor) * std::max(t, 0.0) / warmup_epochs;
  return float(lr * f);
}

}  // namespace senet
