// engine/data/synthetic.h — a learnable synthetic data set for tests and smoke runs.
// Class k owns a bright blob at a fixed place (the centre of cell k of a ⌈√K⌉×⌈√K⌉ grid over the
// image) with its own colour tint per channel; every image adds ±1 pixel jitter of the blob and
// uniform background noise. A small net separates the classes within a few hundred steps.
// Labels are balanced (label of image i = i mod K). Pixels are a function of (seed, i) only.
#pragma once
#include <cstdint>

#include "engine/data/dataset.h"

namespace senet::data {

Dataset make_synthetic(int64_t n, int c, int h, int w, int num_classes, uint64_t seed);

}  // namespace senet::data
