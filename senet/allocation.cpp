// senet/allocation.cpp — water-filling + largest-remainder rounding.
#include "senet/allocation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/core/error.h"

namespace senet {

static void check_budget(const std::vector<int64_t>& sizes, int64_t budget) {
  int64_t total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    SENET_CHECK(sizes[i] >= 0, "allocation: site ", i, " has negative size ", sizes[i]);
    total += sizes[i];
  }
  SENET_CHECK(budget >= 0, "ReLU budget must be ≥ 0, got ", budget);
  SENET_CHECK(budget <= total, "ReLU budget ", budget, " exceeds the model's ", total,
              " ReLUs in its counted sites");
}

// Largest-remainder rounding of real shares x_l ≤ N_l that sum to `budget`.
static std::vector<int64_t> round_to_budget(const std::vector<double>& x,
                                            const std::vector<int64_t>& sizes, int64_t budget) {
  size_t L = x.size();
  std::vector<int64_t> r(L);
  int64_t assigned = 0;
  for (size_t l = 0; l < L; ++l) {
    r[l] = std::min<int64_t>(sizes[l], int64_t(std::floor(x[l] + 1e-9)));
    assigned += r[l];
  }
  std::vector<size_t> order(L);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return (x[a] - std::floor(x[a] + 1e-9)) > (x[b] - std::floor(x[b] + 1e-9));
  });
  // Hand out the leftover: largest fractional part first, only to sites with room left. Repeat
  // (rarely needed: rounding error can leave more units than sites with a fraction).
  while (assigned < budget) {
    bool progressed = false;
    for (size_t l : order) {
      if (assigned == budget) break;
      if (r[l] < sizes[l]) {
        ++r[l];
        ++assigned;
        progressed = true;
      }
    }
    SENET_CHECK(progressed, "allocation: cannot place ", budget - assigned, " more ReLUs");
  }
  while (assigned > budget) {  // floating-point overshoot (never expected): take from the largest
    size_t l = size_t(std::max_element(r.begin(), r.end()) - r.begin());
    --r[l];
    --assigned;
  }
  return r;
}

std::vector<int64_t> allocate_relus(const std::vector<double>& eta,
                                    const std::vector<int64_t>& sizes, int64_t budget) {
  SENET_CHECK(eta.size() == sizes.size(), "allocation: ", eta.size(), " sensitivities for ",
              sizes.size(), " sites");
  check_budget(sizes, budget);
  size_t L = sizes.size();
  for (size_t l = 0; l < L; ++l)
    SENET_CHECK(eta[l] >= 0 && std::isfinite(eta[l]), "allocation: sensitivity of site ", l,
                " must be a finite number ≥ 0, got ", eta[l]);
  std::vector<double> x(L, 0.0);
  std::vector<bool> fixed(L, false);
  double free_budget = double(budget);
  for (;;) {
    double eta_sum = 0;
    int64_t free_size = 0;
    for (size_t l = 0; l < L; ++l)
      if (!fixed[l]) {
        eta_sum += eta[l];
        free_size += sizes[l];
      }
    if (free_size == 0) break;
    // All remaining sensitivities zero: share what is left in proportion to size (uniform keep).
    bool by_size = eta_sum <= 0;
    bool saturated = false;
    for (size_t l = 0; l < L; ++l) {
      if (fixed[l]) continue;
      double share = by_size ? double(sizes[l]) / double(free_size) : eta[l] / eta_sum;
      x[l] = free_budget * share;
      if (x[l] > double(sizes[l])) {
        x[l] = double(sizes[l]);
        fixed[l] = true;
        free_budget -= double(sizes[l]);
        saturated = true;
      }
    }
    if (!saturated) break;
  }
  return round_to_budget(x, sizes, budget);
}

std::vector<int64_t> allocate_uniform(const std::vector<int64_t>& sizes, int64_t budget) {
  check_budget(sizes, budget);
  int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t(0));
  std::vector<double> x(sizes.size(), 0.0);
  for (size_t l = 0; l < sizes.size(); ++l)
    x[l] = total ? double(budget) * double(sizes[l]) / double(total) : 0.0;
  return round_to_budget(x, sizes, budget);
}

}  // namespace senet
