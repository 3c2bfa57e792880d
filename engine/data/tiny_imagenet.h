// engine/data/tiny_imagenet.h — Tiny-ImageNet-200 from its official folder layout.
//   wnids.txt                          one class id (wnid) per line; label = line number (0-based)
//   train/<wnid>/images/*.JPEG         training images of that class (file names sorted)
//   val/images/*.JPEG + val/val_annotations.txt   "file<TAB>wnid<TAB>bbox..." per line, in order
// Every image is decoded to 64×64×3 (gray JPEGs replicated to RGB), on several threads; the
// result does not depend on the thread count. train = false loads the labelled val split.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/data/dataset.h"

namespace senet::data {

Dataset load_tiny_imagenet(const std::string& dir, bool train);

// The two text files on their own (the loader reads each whole and calls these; also
// tests/fuzz/fuzz_tiny_imagenet.cpp). `name` is only used in error messages.
//   wnids.txt → label of each wnid (its 0-based line number, blank lines skipped)
//   val_annotations.txt → (images_dir/file, label) per non-blank line, in order
std::map<std::string, int32_t> parse_tiny_imagenet_wnids(const std::string& text,
                                                         const std::string& name);
std::vector<std::pair<std::string, int32_t>> parse_tiny_imagenet_val(
    const std::string& text, const std::string& name, const std::map<std::string, int32_t>& ids,
    const std::string& images_dir);

}  // namespace senet::data
