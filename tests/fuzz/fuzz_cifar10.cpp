// tests/fuzz/fuzz_cifar10.cpp — libFuzzer target: any bytes as a CIFAR-10 binary record file
// (engine/data/cifar.h; raw or gzipped). Accepted files must give
// whole records with labels in range.
#include "engine/core/error.h"
#include "engine/data/cifar.h"
#include "tests/fuzz/cifar_check.h"
#include "tests/fuzz/fuzz_util.h"

using namespace senet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    fuzz::check_cifar(data::parse_cifar10(bytes, "data_batch_1.bin"), 10);
  } catch (const Error& e) {
    fuzz::rejected(e);
  }
  return 0;
}
