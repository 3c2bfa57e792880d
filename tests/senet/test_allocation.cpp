// tests/senet/test_allocation.cpp — the allocator: the spec's ResNet-18 check, exact sums,
// saturation, monotonicity in η, uniform allocation, and errors.
#include <gtest/gtest.h>

#include <numeric>

#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "senet/allocation.h"

using namespace senet;

static const std::vector<int64_t> kResNet18 = {65536, 65536, 65536, 65536, 65536, 32768,
                                               32768, 32768, 32768, 16384, 16384, 16384,
                                               16384, 8192,  8192,  8192,  8192};

TEST(Allocation, SpecResNet18KeepFractionsAt100k) {
  // docs/method.md §Stage 1 and §Allocation: η of ResNet-18 from the authors' group's tables and the keep fractions they give.
  std::vector<double> eta = {0.06, 0.19, 0.21, 0.25, 0.28, 0.35, 0.49, 0.51, 0.56,
                             0.67, 0.81, 0.83, 0.86, 0.94, 0.99, 1.0,  1.0};
  std::vector<double> keep = {0.0097, 0.031, 0.036, 0.042, 0.047, 0.12, 0.165, 0.172, 0.188,
                              0.456,  0.551, 0.56,  0.583, 1,     1,    1,     1};
  auto r = allocate_relus(eta, kResNet18, 100000);
  EXPECT_EQ(std::accumulate(r.begin(), r.end(), int64_t(0)), 100000);
  for (size_t l = 0; l < r.size(); ++l) {
    double f = double(r[l]) / double(kResNet18[l]);
    // The spec's η are rounded to 2 decimals (±0.005) and its fractions to 2–3 digits, so a count
    // ∝ η can be off by 0.005/η relative (8 % at η = 0.06) plus 2 % for the printed fraction.
    EXPECT_NEAR(f, keep[l], keep[l] * (0.005 / eta[l] + 0.02) + 1e-4) << "site " << l;
  }
}

TEST(Allocation, ExactSumSaturationAndBounds) {
  for (uint64_t trial = 0; trial < 200; ++trial) {
    size_t L = 2 + rand_below(11, trial, 0, 15);
    std::vector<int64_t> sizes(L);
    std::vector<double> eta(L);
    int64_t total = 0;
    for (size_t l = 0; l < L; ++l) {
      sizes[l] = 1 + rand_below(11, trial, 1 + l, 5000);
      eta[l] = rand_uniform(11, trial, 100 + l);
      total += sizes[l];
    }
    int64_t budget = rand_below(11, trial, 999, uint32_t(total + 1));
    auto r = allocate_relus(eta, sizes, budget);
    EXPECT_EQ(std::accumulate(r.begin(), r.end(), int64_t(0)), budget);
    for (size_t l = 0; l < L; ++l) {
      EXPECT_GE(r[l], 0);
      EXPECT_LE(r[l], sizes[l]);
    }
    auto u = allocate_uniform(sizes, budget);
    EXPECT_EQ(std::accumulate(u.begin(), u.end(), int64_t(0)), budget);
  }
  EXPECT_EQ(allocate_relus({1, 2}, {10, 10}, 20), (std::vector<int64_t>{10, 10}));  // everything
  EXPECT_EQ(allocate_relus({1, 2}, {10, 10}, 0), (std::vector<int64_t>{0, 0}));
  // Saturation: the sensitive small site fills up, the rest goes to the other.
  EXPECT_EQ(allocate_relus({0.1, 10}, {1000, 5}, 100), (std::vector<int64_t>{95, 5}));
}

TEST(Allocation, MonotoneInSensitivity) {
  std::vector<int64_t> sizes(6, 1000);
  std::vector<double> eta = {0.1, 0.2, 0.3, 0.5, 0.8, 1.0};
  auto r = allocate_relus(eta, sizes, 1500);
  for (size_t l = 1; l < r.size(); ++l) EXPECT_GE(r[l], r[l - 1]);
  // Raising one site's η never lowers its count.
  auto eta2 = eta;
  eta2[2] = 0.9;
  EXPECT_GE(allocate_relus(eta2, sizes, 1500)[2], r[2]);
}

TEST(Allocation, UniformKeepsTheSameFraction) {
  auto u = allocate_uniform(kResNet18, 55706);  // 10 % of 557,056 (rounded)
  for (size_t l = 0; l < u.size(); ++l) EXPECT_NEAR(double(u[l]) / kResNet18[l], 0.1, 1e-3);
}

TEST(Allocation, ErrorsNameTheProblem) {
  EXPECT_THROW(allocate_relus({1, 1}, {10, 10}, 21), Error);
  EXPECT_THROW(allocate_relus({1, 1}, {10, 10}, -1), Error);
  EXPECT_THROW(allocate_relus({1}, {10, 10}, 5), Error);
  EXPECT_THROW(allocate_relus({-1, 1}, {10, 10}, 5), Error);
  try {
    allocate_uniform({10, 10}, 25);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("25"), std::string::npos);
  }
  // All η zero: falls back to size-proportional.
  EXPECT_EQ(allocate_relus({0, 0}, {10, 30}, 8), (std::vector<int64_t>{2, 6}));
}
