// engine/data/split.h — split a data set into train and validation parts.
// The rows are permuted by seeded_permutation(n, seed, kSplitStream); the first val_count rows of
// the permutation form the validation set, the rest the training set (both keep permutation
// order). Deterministic per seed; the two parts are disjoint and together cover every row.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "engine/data/dataset.h"

namespace senet::data {

// Names become d.name + "/train" and d.name + "/val". 0 <= val_count <= d.n.
std::pair<Dataset, Dataset> split_train_val(const Dataset& d, int64_t val_count, uint64_t seed);

// The rows of `d` listed in `rows`, in that order (a subset or a reordering); each keeps its
// source_index (the position in the files it was loaded from).
Dataset select_rows(const Dataset& d, const int64_t* rows, int64_t count, const std::string& name);

}  // namespace senet::data
