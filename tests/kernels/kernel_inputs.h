// tests/kernels/kernel_inputs.h — deterministic test inputs for the kernel tests outside the conv/BN
// family (Philox-based engine/core/rng.h, so every run and both builds see the same numbers).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/core/rng.h"

namespace senet::cudatest {

inline std::vector<float> uniform(size_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * rand_uniform(seed, 11, i);
  return v;
}

// Integers in [lo, hi] as floats: sums and products of few of them are exact in fp32.
inline std::vector<float> small_ints(size_t n, uint64_t seed, int lo, int hi) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = float(lo + int(rand_below(seed, 12, i, uint32_t(hi - lo + 1))));
  return v;
}

inline std::vector<int32_t> labels(size_t n, uint64_t seed, int K) {
  std::vector<int32_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = int32_t(rand_below(seed, 13, i, uint32_t(K)));
  return v;
}

inline std::vector<uint8_t> bytes01(size_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(rand_below(seed, 14, i, 2));
  return v;
}

}  // namespace senet::cudatest
