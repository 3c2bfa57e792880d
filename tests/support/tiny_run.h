// tests/support/tiny_run.h — the tiny run every end-to-end test starts from: ResNet-18 at width
// 1/16 (4/8/16/32 channels) on 1×16×16 synthetic images of 4 classes, batches of 16, 32 images held
// out for validation, no progress bar. Tests change what they need on the returned config.
#pragma once
#include <string>

#include "senet/config.h"

namespace senet::test {

inline RunConfig tiny_run_config(const std::string& out_dir = "", int64_t synthetic_size = 96) {
  RunConfig c;
  c.model.arch = models::Arch::ResNet18;
  c.model.width = 0.0625f;
  c.model.in_channels = 1;
  c.model.image_size = 16;
  c.model.num_classes = 4;
  c.data.dataset = DatasetKind::Synthetic;
  c.data.synthetic_size = synthetic_size;
  c.data.val_size = 32;
  c.train.batch_size = 16;
  c.progress = false;
  if (!out_dir.empty()) c.out_dir = out_dir;
  return c;
}

// The tiny SENet pipeline: 2 teacher epochs, prune every 2 steps, 2 mask-search epochs, 1 fine-tune.
inline RunConfig tiny_pipeline_config(const std::string& out_dir, int64_t budget) {
  RunConfig c = tiny_run_config(out_dir, 160);
  c.train.epochs = 2;
  c.senet.budget = budget;
  c.senet.prune_every = 2;
  c.senet.mask_search.epochs = 2;
  c.senet.finetune.epochs = 1;
  return c;
}

}  // namespace senet::test
