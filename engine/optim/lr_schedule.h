// engine/optim/lr_schedule.h — learning-rate schedules as pure functions of training time.
// t = epoch + epoch_fraction (epoch counts from 0, fraction ∈ [0,1) is the share of the epoch
// done), so a schedule can be queried per iteration and a resumed run gets the same values.
//   Constant(lr):                     lr
//   MultiStep(base, milestones, γ):   base · γ^#{m ∈ milestones : epoch ≥ m}   (epoch-wise, like
//                                     PyTorch's MultiStepLR: milestone 150 → ×γ from epoch 150 on)
//   Cosine(base, E, min):             min + (base − min)·(1 + cos(π·min(t,E)/E))/2
//   LinearWarmup(inner, W, s):        inner(t) · (s + (1−s)·t/W) for t < W, then inner(t);
//                                     starts at s·inner (s = 0.01: near 0), reaches inner at t = W
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace senet {

struct LrSchedule {
  virtual ~LrSchedule();
  virtual float lr_at(int64_t epoch, double epoch_fraction = 0.0) const = 0;
};

struct Constant : LrSchedule {
  explicit Constant(float lr);
  float lr_at(int64_t epoch, double epoch_fraction = 0.0) const override;
  float lr;
};

struct MultiStep : LrSchedule {
  MultiStep(float base, std::vector<int64_t> milestones, float gamma = 0.1f);
  float lr_at(int64_t epoch, double epoch_fraction = 0.0) const override;
  float base;
  std::vector<int64_t> milestones;  // sorted on construction
  float gamma;
};

struct Cosine : LrSchedule {
  Cosine(float base, int64_t total_epochs, float min_lr = 0.f);
  float lr_at(int64_t epoch, double epoch_fraction = 0.0) const override;
  float base;
  int64_t total_epochs;
  float min_lr;
};

struct LinearWarmup : LrSchedule {
  LinearWarmup(std::shared_ptr<const LrSchedule> inner, double warmup_epochs,
               float start_factor = 0.01f);
  float lr_at(int64_t epoch, double epoch_fraction = 0.0) const override;
  std::shared_ptr<const LrSchedule> inner;
  double warmup_epochs;
  float start_factor;
};

}  // namespace senet
