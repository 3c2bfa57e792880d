// engine/optim/adam.h — Adam and AdamW (PyTorch's torch.optim.Adam / AdamW), bias-corrected.
// At a parameter's step t, with bc₁ = 1−β₁ᵗ, bc₂ = 1−β₂ᵗ:
//   Adam  (decoupled = false): g ← g + λ·p            AdamW (decoupled = true): p ← p·(1 − η·λ)
//   m = β₁·m + (1−β₁)·g;   v = β₂·v + (1−β₂)·g²;   p −= (η/bc₁) · m / (√v/√bc₂ + ε)
// State per parameter: "<name>.exp_avg", "<name>.exp_avg_sq", "<name>.step".
#pragma once
#include "engine/optim/optimizer.h"

namespace senet {

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamRef> params, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
       float eps = 1e-8f, float weight_decay = 0, bool decoupled = false);
  void step() override;

 private:
  std::vector<float> device_scalar_values(const Slot& s) const override;
  float beta1_, beta2_, eps_;
  bool decoupled_;
};

}  // namespace senet
