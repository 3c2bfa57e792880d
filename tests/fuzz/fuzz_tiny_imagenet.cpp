// tests/fuzz/fuzz_tiny_imagenet.cpp — libFuzzer target: the files load_tiny_imagenet reads, cut
// from one input at the part separator (fuzz_util.h): wnids.txt, val/val_annotations.txt and one
// JPEG, decoded to 64×64 RGB as every Tiny-ImageNet image is. Each part is tried on its own, so
// a bad text part does not hide the JPEG decoder (the annotations need the wnids, though).
#include "engine/core/error.h"
#include "engine/data/jpeg_decode.h"
#include "engine/data/tiny_imagenet.h"
#include "tests/fuzz/fuzz_util.h"

using namespace senet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_parts(data, size, 3);
  try {
    const auto ids = data::parse_tiny_imagenet_wnids(fuzz::as_string(parts[0]), "wnids.txt");
    std::vector<bool> seen(ids.size(), false);
    for (const auto& [wnid, label] : ids) {
      FUZZ_ASSERT(!wnid.empty() && label >= 0 && size_t(label) < ids.size() &&
                  !seen[size_t(label)]);
      seen[size_t(label)] = true;
    }
    const auto val = data::parse_tiny_imagenet_val(fuzz::as_string(parts[1]),
                                                   "val/val_annotations.txt", ids, "val/images");
    for (const auto& [path, label] : val) {
      FUZZ_ASSERT(path.size() > std::string("val/images/").size());
      FUZZ_ASSERT(label >= 0 && size_t(label) < ids.size());
    }
  } catch (const Error& e) {
    fuzz::rejected(e);
  }
  std::vector<uint8_t> rgb(3 * 64 * 64);
  try {
    data::decode_jpeg_rgb(parts[2].data(), parts[2].size(), 64, 64, rgb.data(), "val_0.JPEG");
  } catch (const Error& e) {
    fuzz::rejected(e);
  }
  return 0;
}
