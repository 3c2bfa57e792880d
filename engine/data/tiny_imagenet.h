// engine/data/tiny_imagenet.h — Tiny-ImageNet-200 from its official folder layout.
//   wnids.txt                          one class id (wnid) per line; label = line number (0-based)
//   train/<wnid>/images/*.JPEG         training images of that class (file names sorted)
//   val/images/*.JPEG + val/val_annotations.txt   "file<TAB>wnid<TAB>bbox..." per line, in order
// Every image is decoded to 64×64×3 (gray JPEGs replicated to RGB), on several threads; the
// result does not depend on the thread count. train = false loads the labelled val split.
#pragma once
#include <string>

#include "engine/data/dataset.h"

namespace senet::data {

Dataset load_tiny_imagenet(const std::string& dir, bool train);

}  // namespace senet::data
