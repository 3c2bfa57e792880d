// tests/optim/test_adam.cpp — Adam / AdamW against values computed by hand (in double, formula by
// formula) over 3 steps; per-parameter step counts; state round trip.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/optim/adam.h"
#include "tests/optim/optim_test_util.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using namespace senet::test;

// p₀ = 1, η = 0.1, β = (0.9, 0.999), ε = 1e-8, gradients 0.5, −0.25, 1.0.
// Step 1: m = 0.05, v = 2.5e-4, m̂ = 0.5, v̂ = 0.25 → p = 1 − 0.1·0.5/(0.5 + 1e-8) = 0.900000002
// Step 2: m = 0.02, v = 3.1225e-4, m̂ = 0.02/0.19, v̂ = 3.1225e-4/0.001999 → p = 0.8733662987
// Step 3: m = 0.118, v = 1.31193775e-3, bc = (0.271, 0.002997001)      → p = 0.8075551397
TEST(Adam, ThreeStepsByHand) {
  Tensor p = param({1.f}, "w");
  Adam opt({{"w", p}}, 0.1f);
  auto v = run_three_steps(opt, p);
  EXPECT_NEAR(v[0], 0.900000002, 1e-6);
  EXPECT_NEAR(v[1], 0.8733662987, 1e-6);
  EXPECT_NEAR(v[2], 0.8075551397, 1e-6);
}

TEST(Adam, L2WeightDecayAddsToTheGradient) {
  Tensor p = param({1.f}, "w");
  Adam opt({{"w", p}}, 0.1f, 0.9f, 0.999f, 1e-8f, 0.1f);
  // g ← g + 0.1·p: 0.6, then −0.25 + 0.09 = −0.16, …
  auto v = run_three_steps(opt, p);
  EXPECT_NEAR(v[0], 0.9000000017, 1e-6);
  EXPECT_NEAR(v[1], 0.8544413675, 1e-6);
  EXPECT_NEAR(v[2], 0.7815043999, 1e-6);
}

TEST(AdamW, DecoupledWeightDecayShrinksTheParameter) {
  Tensor p = param({1.f}, "w");
  Adam opt({{"w", p}}, 0.1f, 0.9f, 0.999f, 1e-8f, 0.1f, true);
  // p ← p·(1 − 0.01) before the Adam step: 0.99 − 0.1 = 0.89, …
  auto v = run_three_steps(opt, p);
  EXPECT_NEAR(v[0], 0.890000002, 1e-6);
  EXPECT_NEAR(v[1], 0.8544662987, 1e-6);
  EXPECT_NEAR(v[2], 0.7801104767, 1e-6);
}

TEST(Adam, LargeTensorMatchesDoubleReference) {
  const int64_t n = 70000;  // threaded path
  Tensor p = random_tensor({n}, 1).set_requires_grad(true).set_name("big");
  const std::vector<float> p0 = p.to_vector();
  std::vector<double> ref(p0.size()), m(p0.size(), 0.0), v(p0.size(), 0.0);
  for (size_t i = 0; i < p0.size(); ++i) ref[i] = p0[i];
  Adam opt({{"big", p}}, 1e-2f, 0.9f, 0.99f, 1e-8f, 1e-2f, true);
  for (int s = 1; s <= 3; ++s) {
    Tensor g = random_tensor({n}, 10 + uint64_t(s));
    auto gv = g.to_vector();
    p.impl().grad = g.impl_ptr();
    opt.step();
    for (size_t i = 0; i < ref.size(); ++i) {
      ref[i] *= 1 - 1e-2 * 1e-2;
      m[i] = 0.9 * m[i] + 0.1 * gv[i];
      v[i] = 0.99 * v[i] + 0.01 * double(gv[i]) * gv[i];
      ref[i] -=
          1e-2 / (1 - std::pow(0.9, s)) * m[i] / (std::sqrt(v[i] / (1 - std::pow(0.99, s))) + 1e-8);
    }
  }
  auto pv = p.to_vector();
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(pv[i], ref[i], 1e-5) << i;
}

TEST(Adam, BiasCorrectionCountsEachParametersOwnSteps) {
  // b gets its first gradient at the optimizer's 2nd step: its update is a first step (|Δ| = η).
  Tensor a = param({1.f}, "a"), b = param({1.f}, "b");
  Adam opt({{"a", a}, {"b", b}}, 0.1f);
  set_grad(a, {1.f});
  opt.step();
  opt.zero_grad();
  set_grad(b, {0.3f});
  opt.step();
  EXPECT_NEAR(b.to_vector()[0], 0.9, 1e-6);
  EXPECT_NEAR(a.to_vector()[0], 0.9, 1e-6);  // untouched at step 2
}

TEST(Adam, StateRoundTripGivesTheSameNextStep) {
  Tensor p = random_tensor({4, 3}, 2).set_requires_grad(true);
  Adam a({{"conv.weight", p}}, 1e-3f, 0.9f, 0.999f, 1e-8f, 5e-4f, true);
  for (int s = 0; s < 3; ++s) {
    p.impl().grad = random_tensor({4, 3}, 20 + uint64_t(s)).impl_ptr();
    a.step();
  }
  OptimizerState st = a.state();
  ASSERT_EQ(st.size(), 4u);
  EXPECT_EQ(st[1].first, "conv.weight.exp_avg");
  EXPECT_EQ(st[2].first, "conv.weight.exp_avg_sq");
  EXPECT_EQ(st[3].first, "conv.weight.step");

  Tensor q = p.clone().set_requires_grad(true);
  Adam b({{"conv.weight", q}}, 1e-3f, 0.9f, 0.999f, 1e-8f, 5e-4f, true);
  b.load_state(st);
  Tensor g = random_tensor({4, 3}, 40);
  p.impl().grad = g.impl_ptr();
  q.impl().grad = g.clone().impl_ptr();
  a.step();
  b.step();
  EXPECT_EQ(p.to_vector(), q.to_vector());

  OptimizerState missing(st.begin(), st.begin() + 3);  // no "conv.weight.step"
  try {
    b.load_state(missing);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'conv.weight.step'"), std::string::npos) << e.what();
  }
}
