// tests/optim/test_sgd.cpp — SGD against hand-computed values over 3 steps (plain, momentum,
// Nesterov, weight decay, dampening), the threaded path against a scalar reference, skipping params
// without a gradient, per-parameter weight decay, and the checkpoint state round trip and errors.
#include <gtest/gtest.h>

#include "engine/optim/sgd.h"
#include "tests/optim/optim_test_util.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using namespace senet::test;

// p₀ = 1, η = 0.1, gradients 0.5, −0.25, 1.0. Each expectation is worked by hand in the comment.
TEST(SGD, Plain) {
  Tensor p = param({1.f}, "w");
  SGD opt({{"w", p}}, 0.1f);
  // 1 − 0.05 = 0.95;  + 0.025 = 0.975;  − 0.1 = 0.875
  auto v = run_three_steps(opt, p);
  EXPECT_NEAR(v[0], 0.95, 1e-6);
  EXPECT_NEAR(v[1], 0.975, 1e-6);
  EXPECT_NEAR(v[2], 0.875, 1e-6);
}

TEST(SGD, Momentum) {
  Tensor p = param({1.f}, "w");
  SGD opt({{"w", p}}, 0.1f, 0.9f);
  // buf = 0.5 → p 0.95;  buf = 0.45 − 0.25 = 0.2 → p 0.93;  buf = 0.18 + 1 = 1.18 → p 0.812
  auto v = run_three_steps(opt, p);
  EXPECT_NEAR(v[0], 0.95, 1e-6);
  EXPECT_NEAR(v[1], 0.93, 1e-6);
  EXPECT_NEAR(v[2], 0.812, 1e-6);
}

TEST(SGD, Nesterov) {
  Tensor p = param({1.f}, "w");
  SGD opt({{"w", p}}, 0.1f, 0.9f, 0.f, true);
  // buf 0.5,  d = 0.5 + 0.45 = 0.95      → p = 0.905
  // buf 0.2,  d = −0.25 + 0.18 = −0.07   → p = 0.912
  // buf 1.18, d = 1 + 1.062 = 2.062      → p = 0.7058
  auto v = run_three_steps(opt, p);
  EXPECT_NEAR(v[0], 0.905, 1e-6);
  EXPECT_NEAR(v[1], 0.912, 1e-6);
  EXPECT_NEAR(v[2], 0.7058, 1e-6);
}

TEST(SGD, WeightDecayWithMomentum) {
  Tensor p = param({1.f}, "w");
  SGD opt({{"w", p}}, 0.1f, 0.9f, 0.1f);
  // d = 0.5 + 0.1          = 0.6,     buf 0.6                  → p = 0.94
  // d = −0.25 + 0.094      = −0.156,  buf 0.54 − 0.156 = 0.384 → p = 0.9016
  // d = 1 + 0.09016        = 1.09016, buf 0.3456 + 1.09016 = 1.43576 → p = 0.758024
  auto v = run_three_steps(opt, p);
  EXPECT_NEAR(v[0], 0.94, 1e-6);
  EXPECT_NEAR(v[1], 0.9016, 1e-6);
  EXPECT_NEAR(v[2], 0.758024, 1e-6);
}

TEST(SGD, Dampening) {
  Tensor p = param({1.f}, "w");
  SGD opt({{"w", p}}, 0.1f, 0.9f, 0.f, false, 0.5f);
  // buf = 0.5 (first step: not dampened) → 0.95; buf = 0.45 − 0.125 = 0.325 → 0.9175;
  // buf = 0.2925 + 0.5 = 0.7925 → 0.83825
  auto v = run_three_steps(opt, p);
  EXPECT_NEAR(v[0], 0.95, 1e-6);
  EXPECT_NEAR(v[1], 0.9175, 1e-6);
  EXPECT_NEAR(v[2], 0.83825, 1e-6);
}

TEST(SGD, LargeTensorMatchesScalarReference) {
  // 100k elements: the update runs split over threads; every element must follow the formula.
  const int64_t n = 100000;
  Tensor p = random_tensor({n}, 1).set_requires_grad(true).set_name("big");
  std::vector<float> ref = p.to_vector(), buf(size_t(n), 0.f);
  SGD opt({{"big", p}}, 0.05f, 0.9f, 5e-4f, true);
  for (int s = 0; s < 3; ++s) {
    Tensor g = random_tensor({n}, 10 + uint64_t(s));
    auto gv = g.to_vector();
    p.impl().grad = g.impl_ptr();
    opt.step();
    for (size_t i = 0; i < ref.size(); ++i) {
      float d = gv[i] + 5e-4f * ref[i];
      buf[i] = s == 0 ? d : 0.9f * buf[i] + d;
      ref[i] -= 0.05f * (d + 0.9f * buf[i]);
    }
  }
  EXPECT_EQ(p.to_vector(), ref);
}

TEST(SGD, ParamsWithoutGradAreSkipped) {
  Tensor a = param({1.f}, "a"), b = param({2.f}, "b");
  SGD opt({{"a", a}, {"b", b}}, 0.1f, 0.9f);
  set_grad(a, {1.f});
  opt.step();
  EXPECT_FLOAT_EQ(a.to_vector()[0], 0.9f);
  EXPECT_FLOAT_EQ(b.to_vector()[0], 2.f);
  // b's first real step must initialise its buffer with d (not decay a zero buffer).
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  set_grad(b, {1.f});
  opt.step();
  EXPECT_FLOAT_EQ(b.to_vector()[0], 1.9f);
  EXPECT_FLOAT_EQ(a.to_vector()[0], 0.9f);
}

TEST(SGD, PerParameterWeightDecay) {
  Tensor w = Tensor::full({2, 2}, 1.f).set_requires_grad(true);
  Tensor b = param({1.f, 1.f}, "fc.bias");
  SGD opt({{"fc.weight", w}, {"fc.bias", b}}, 0.1f, 0.f, 0.5f);
  EXPECT_EQ(opt.set_weight_decay_where(is_norm_or_bias, 0.f), 1);
  EXPECT_FLOAT_EQ(opt.weight_decay_of(0), 0.5f);
  EXPECT_FLOAT_EQ(opt.weight_decay_of(1), 0.f);
  set_grad(w, {0, 0, 0, 0});
  set_grad(b, {0, 0});
  opt.step();
  EXPECT_FLOAT_EQ(w.to_vector()[0], 0.95f);  // decayed: 1 − 0.1·0.5
  EXPECT_FLOAT_EQ(b.to_vector()[0], 1.f);    // not decayed
}

TEST(SGD, StateRoundTripGivesTheSameNextStep) {
  Tensor p1 = random_tensor({3, 4}, 2).set_requires_grad(true);
  Tensor p2 = random_tensor({5}, 3).set_requires_grad(true);
  SGD a({{"l.weight", p1}, {"l.bias", p2}}, 0.1f, 0.9f, 1e-4f, true);
  for (int s = 0; s < 2; ++s) {
    p1.impl().grad = random_tensor({3, 4}, 20 + uint64_t(s)).impl_ptr();
    p2.impl().grad = random_tensor({5}, 30 + uint64_t(s)).impl_ptr();
    a.step();
  }
  OptimizerState st = a.state();
  std::vector<std::string> keys;
  for (auto& [k, t] : st) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"step", "l.weight.momentum_buffer", "l.weight.step",
                                            "l.bias.momentum_buffer", "l.bias.step"}));

  Tensor q1 = p1.clone().set_requires_grad(true), q2 = p2.clone().set_requires_grad(true);
  SGD b({{"l.weight", q1}, {"l.bias", q2}}, 0.1f, 0.9f, 1e-4f, true);
  b.load_state(st);
  EXPECT_EQ(b.steps(), 2);
  Tensor g1 = random_tensor({3, 4}, 40), g2 = random_tensor({5}, 41);
  p1.impl().grad = g1.impl_ptr();
  p2.impl().grad = g2.impl_ptr();
  q1.impl().grad = g1.clone().impl_ptr();
  q2.impl().grad = g2.clone().impl_ptr();
  a.step();
  b.step();
  EXPECT_EQ(p1.to_vector(), q1.to_vector());
  EXPECT_EQ(p2.to_vector(), q2.to_vector());
}

static std::string load_error(SGD& opt, const OptimizerState& st) {
  try {
    opt.load_state(st);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SGD, LoadStateErrorsNameTheKey) {
  Tensor p = random_tensor({3}, 4).set_requires_grad(true);
  SGD opt({{"w", p}}, 0.1f, 0.9f);
  OptimizerState good = opt.state();

  OptimizerState missing = good;
  missing.erase(missing.begin() + 1);  // w.momentum_buffer
  std::string m = load_error(opt, missing);
  EXPECT_NE(m.find("missing key 'w.momentum_buffer'"), std::string::npos) << m;

  OptimizerState extra = good;
  extra.emplace_back("v.momentum_buffer", Tensor::zeros({3}));
  m = load_error(opt, extra);
  EXPECT_NE(m.find("'v.momentum_buffer'"), std::string::npos) << m;

  OptimizerState wrong = good;
  wrong[1].second = Tensor::zeros({4});
  m = load_error(opt, wrong);
  EXPECT_NE(m.find("'w.momentum_buffer'"), std::string::npos) << m;
  EXPECT_NE(m.find("[4]"), std::string::npos) << m;
  EXPECT_NE(m.find("[3]"), std::string::npos) << m;
}

TEST(SGD, ConstructorErrors) {
  Tensor p = param({1.f}, "w");
  EXPECT_THROW(SGD({{"w", p}}, 0.1f, 0.f, 0.f, true), Error);  // Nesterov without momentum
  EXPECT_THROW(SGD({{"w", p}, {"w", p}}, 0.1f), Error);        // duplicate name
  EXPECT_THROW(SGD({{"w", p}}, -1.f), Error);                  // negative lr
}
