// engine/data/split.cpp — seeded train/val split by row selection (see split.h).
#include "engine/data/split.h"

#include <cstring>
#include <string>
#include <vector>

#include "engine/data/permutation.h"
#include "engine/data/streams.h"

namespace senet::data {

Dataset select_rows(const Dataset& d, const int64_t* rows, int64_t count, const std::string& name) {
  Dataset out;
  out.name = name;
  out.n = count;
  out.c = d.c;
  out.h = d.h;
  out.w = d.w;
  out.num_classes = d.num_classes;
  const int64_t size = image_size(d);
  out.pixels.resize(size_t(count * size));
  out.labels.resize(size_t(count));
  out.source_index.resize(size_t(count));
  for (int64_t i = 0; i < count; ++i) {
    SENET_CHECK(rows[i] >= 0 && rows[i] < d.n, "select_rows: row ", rows[i], " outside [0, ", d.n,
                ") of '", d.name, "'");
    out.labels[size_t(i)] = d.labels[size_t(rows[i])];
    out.source_index[size_t(i)] = source_index(d, rows[i]);
    std::memcpy(out.pixels.data() + i * size, d.pixels.data() + rows[i] * size, size_t(size));
  }
  return out;
}

std::pair<Dataset, Dataset> split_train_val(const Dataset& d, int64_t val_count, uint64_t seed) {
  check_dataset(d);
  SENET_CHECK(val_count >= 0 && val_count <= d.n, "split_train_val: val_count = ", val_count,
              " must be in [0, ", d.n, "] for '", d.name, "'");
  const std::vector<int64_t> perm = seeded_permutation(d.n, seed, kSplitStream);
  Dataset val = select_rows(d, perm.data(), val_count, d.name + "/val");
  Dataset train = select_rows(d, perm.data() + val_count, d.n - val_count, d.name + "/train");
  return {std::move(train), std::move(val)};
}

}  // namespace senet::data
