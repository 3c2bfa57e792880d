// tools/bench/cases/inputs.h — the deterministic inputs of every kernel check: the per-kernel tests
// (tests/kernels/test_kernels_*.cu) and the registry's cases (tools/bench/cases/, run by
// test_kernel_registry and bench_kernels). Philox-based (engine/core/rng.h): every run and both
// builds (g++ against the emulation, nvcc) see the same numbers.
// Rule: one Philox stream per generator (11–14), so a seed names one input sequence everywhere;
// conv-family inputs are small_ints (exact in any summation order: conv outputs compare bitwise).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/rng.h"

namespace senet::inputs {

inline std::vector<float> uniform(size_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * rand_uniform(seed, 11, i);
  return v;
}

// Integers in [lo, hi] as floats: sums and products of few of them are exact in fp32.
inline std::vector<float> small_ints(size_t n, uint64_t seed, int lo = -8, int hi = 8) {
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

}  // namespace senet::inputs
