// tests/fuzz/fuzz_idx.cpp — libFuzzer target: an IDX image file and an IDX label file (each raw
// or gzipped), cut from one input at the part separator (fuzz_util.h), through parse_idx — what
// load_idx / load_fashion_mnist read. Accepted data sets must be self-consistent.
#include "engine/core/error.h"
#include "engine/data/idx.h"
#include "tests/fuzz/fuzz_util.h"

using namespace senet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_parts(data, size, 2);
  data::Dataset d;
  try {
    d = data::parse_idx(parts[0], "train-images-idx3-ubyte", parts[1], "train-labels-idx1-ubyte",
                        10);
  } catch (const Error& e) {
    fuzz::rejected(e);
    return 0;
  }
  FUZZ_ASSERT(d.c == 1 && d.h > 0 && d.w > 0 && d.n >= 0);
  FUZZ_ASSERT(d.pixels.size() == size_t(d.n) * size_t(d.h) * size_t(d.w));
  FUZZ_ASSERT(d.labels.size() == size_t(d.n));
  for (auto l : d.labels) FUZZ_ASSERT(l >= 0 && l < 10);
  return 0;
}
