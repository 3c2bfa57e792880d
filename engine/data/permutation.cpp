// engine/data/permutation.cpp — Fisher–Yates driven by stateless Philox draws (see permutation.h).
#include "engine/data/permutation.h"

#include <numeric>
#include <utility>

#include "engine/core/error.h"
#include "engine/core/rng.h"

namespace senet::data {

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed, uint64_t stream) {
  SENET_CHECK(n >= 0 && n <= int64_t(UINT32_MAX), "seeded_permutation: n = ", n,
              " must be in [0, 2^32)");
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), int64_t(0));
  for (int64_t i = n - 1; i >= 1; --i) {
    int64_t j = rand_below(seed, stream, uint64_t(i), uint32_t(i + 1));
    std::swap(p[size_t(i)], p[size_t(j)]);
  }
  return p;
}

}  // namespace senet::data
