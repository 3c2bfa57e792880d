// engine/data/permutation.h — a seeded random permutation of 0..n-1 (Fisher–Yates).
// Step i (i = n-1 down to 1) swaps p[i] with p[j], j = rand_below(seed, stream, i, i+1), so the
// permutation is a function of (n, seed, stream) only. Used by the split and by the Loader's
// per-epoch shuffle (stream = epoch).
#pragma once
#include <cstdint>
#include <vector>

namespace senet::data {

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed, uint64_t stream);

}  // namespace senet::data
