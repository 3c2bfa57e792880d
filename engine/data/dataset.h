// engine/data/dataset.h — an in-memory image classification data set.
// Images are uint8, planar CHW per image, images stored one after another:
//   pixel (image i, channel ch, row y, column x) = pixels[((i*c + ch)*h + y)*w + x]
// labels[i] is in [0, num_classes). Loaders build this struct; split, Loader and the trainers read
// it. check_dataset() is the one place that states these invariants as errors.
// source_index says where each image came from, through any selection (select_rows composes it):
// the validation split is a seeded subset of the training files, and `senet eval --split val
// --dump-logits` reports each image's position in those files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace senet::data {

struct Dataset {
  std::string name;  // e.g. "fashion-mnist/train"
  int64_t n = 0;
  int c = 0, h = 0, w = 0;
  int num_classes = 0;
  std::vector<uint8_t> pixels;  // n*c*h*w
  std::vector<int32_t> labels;  // n
  // source_index[i]: image i's position in the files it was loaded from (in the loader's order,
  // e.g. CIFAR-10's five training batches one after another); empty: i itself (nothing selected).
  std::vector<int64_t> source_index;
};

// Position of image i in the files it was loaded from (Dataset::source_index).
inline int64_t source_index(const Dataset& d, int64_t i) {
  return d.source_index.empty() ? i : d.source_index[size_t(i)];
}

// Bytes of one image (c*h*w).
inline int64_t image_size(const Dataset& d) { return int64_t(d.c) * d.h * d.w; }

// Throws senet::Error unless the sizes agree and every label is in [0, num_classes).
inline void check_dataset(const Dataset& d) {
  SENET_CHECK(d.n >= 0 && d.c > 0 && d.h > 0 && d.w > 0 && d.num_classes > 0, "dataset '", d.name,
              "': bad shape n=", d.n, " c=", d.c, " h=", d.h, " w=", d.w,
              " num_classes=", d.num_classes);
  SENET_CHECK(int64_t(d.pixels.size()) == d.n * image_size(d), "dataset '", d.name, "': expected ",
              d.n * image_size(d), " pixel bytes (n*c*h*w), found ", d.pixels.size());
  SENET_CHECK(int64_t(d.labels.size()) == d.n, "dataset '", d.name, "': expected ", d.n,
              " labels, found ", d.labels.size());
  SENET_CHECK(d.source_index.empty() || int64_t(d.source_index.size()) == d.n, "dataset '", d.name,
              "': expected ", d.n, " source indices (or none), found ", d.source_index.size());
  for (int64_t i = 0; i < d.n; ++i)
    SENET_CHECK(d.labels[i] >= 0 && d.labels[i] < d.num_classes, "dataset '", d.name, "': label ",
                d.labels[i], " of image ", i, " is outside [0, ", d.num_classes, ")");
}

}  // namespace senet::data
