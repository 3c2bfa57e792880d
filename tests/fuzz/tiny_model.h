// tests/fuzz/tiny_model.h — the model the mask and checkpoint targets read against, and that
// make_seeds.cpp writes their seeds for: ResNet-18 at width 1/32 (2/4/8/16 channels) on 1×8×8
// inputs, 4 classes — 17 counted ReLU sites, a checkpoint of ~100 KB with its SGD state.
#pragma once
#include "models/model.h"

namespace senet::fuzz {

inline models::ModelConfig tiny_model_config() {
  models::ModelConfig c;
  c.arch = models::Arch::ResNet18;
  c.width = 0.03125f;
  c.in_channels = 1;
  c.image_size = 8;
  c.num_classes = 4;
  return c;
}

}  // namespace senet::fuzz
