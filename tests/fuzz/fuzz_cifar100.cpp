// tests/fuzz/fuzz_cifar100.cpp — libFuzzer target: any bytes as a CIFAR-100 binary record file
// (engine/data/cifar.h; raw or gzipped), read with fine and with coarse labels. Accepted files
// must give whole records with labels in range.
#include "engine/core/error.h"
#include "engine/data/cifar.h"
#include "tests/fuzz/fuzz_util.h"

using namespace senet;

static void check(const data::Dataset& d, int classes) {
  FUZZ_ASSERT(d.c == 3 && d.h == 32 && d.w == 32 && d.n > 0 && d.num_classes == classes);
  FUZZ_ASSERT(d.pixels.size() == size_t(d.n) * 3 * 32 * 32);
  FUZZ_ASSERT(d.labels.size() == size_t(d.n));
  for (auto l : d.labels) FUZZ_ASSERT(l >= 0 && l < classes);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  for (bool fine : {true, false}) {
    try {
      check(data::parse_cifar100(bytes, "train.bin", fine), fine ? 100 : 20);
    } catch (const Error& e) {
      fuzz::rejected(e);
    }
  }
  return 0;
}
