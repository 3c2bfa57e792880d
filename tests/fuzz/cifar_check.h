// tests/fuzz/cifar_check.h — the invariants of an accepted CIFAR file (fuzz_cifar10/fuzz_cifar100):
// 3×32×32 images, one label per image, every label below the class count.
#pragma once
#include "engine/data/dataset.h"
#include "tests/fuzz/fuzz_util.h"

namespace senet::fuzz {

inline void check_cifar(const data::Dataset& d, int classes) {
  FUZZ_ASSERT(d.c == 3 && d.h == 32 && d.w == 32 && d.n > 0 && d.num_classes == classes);
  FUZZ_ASSERT(d.pixels.size() == size_t(d.n) * 3 * 32 * 32);
  FUZZ_ASSERT(d.labels.size() == size_t(d.n));
  for (auto l : d.labels) FUZZ_ASSERT(l >= 0 && l < classes);
}

}  // namespace senet::fuzz
