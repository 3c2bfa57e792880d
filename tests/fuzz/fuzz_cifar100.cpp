// tests/fuzz/fuzz_cifar100.cpp — libFuzzer target: any bytes as a CIFAR-100 binary record file
// (engine/data/cifar.h; raw or gzipped), read with fine and with coarse labels. Accepted files
// must give whole records with labels in range.
#include "engine/core/error.h"
#include "engine/data/cifar.h"
#include "tests/fuzz/cifar_check.h"
#include "tests/fuzz/fuzz_util.h"

using namespace senet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  for (bool fine : {true, false}) {
    try {
      fuzz::check_cifar(data::parse_cifar100(bytes, "train.bin", fine), fine ? 100 : 20);
    } catch (const Error& e) {
      fuzz::rejected(e);
    }
  }
  return 0;
}
