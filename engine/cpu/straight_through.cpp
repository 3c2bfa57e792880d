// engine/cpu/straight_through.cpp — see straight_through.h.
#include "engine/cpu/straight_through.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

namespace senet::cpu {

namespace {

// The order of |s| as an unsigned key, NaN lowest (kernels/mask_search.cu's order_key of |s|):
// |s| ≥ +0, so its bits with the top bit set order like the values.
uint32_t magnitude_key(float s) {
  if (std::isnan(s)) return 0u;
  const float a = std::fabs(s);
  uint32_t u;
  std::memcpy(&u, &a, sizeof u);
  return u | 0x80000000u;
}

}  // namespace

void straight_through_forward(const float* s, int64_t n, int64_t k, uint8_t* mask, float* y) {
  if (n <= 0) return;
  std::vector<uint32_t> key(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) key[size_t(i)] = magnitude_key(s[i]);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t(0));
  // The first k of the order (key descending, index ascending): a strict total order.
  std::nth_element(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t a, int64_t b) {
    const uint32_t ka = key[size_t(a)], kb = key[size_t(b)];
    return ka != kb ? ka > kb : a < b;
  });
  std::fill(mask, mask + n, uint8_t(0));
  for (int64_t i = 0; i < k; ++i) mask[idx[size_t(i)]] = 1;
  if (y)
    for (int64_t i = 0; i < n; ++i) y[i] = mask[i] ? 1.f : 0.f;
}

void straight_through_backward(const float* s, const float* dy, float* ds, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = dy[i];
    ds[i] = s[i] < 0.f ? -g : g;
  }
}

}  // namespace senet::cpu
