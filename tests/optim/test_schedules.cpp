// tests/optim/test_schedules.cpp — learning-rate schedules at given epochs (and fractions).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/optim/lr_schedule.h"
#include "engine/optim/sgd.h"
#include "tests/optim/optim_test_util.h"

using namespace senet;

TEST(LrSchedule, Constant) {
  Constant c(0.05f);
  EXPECT_FLOAT_EQ(c.lr_at(0), 0.05f);
  EXPECT_FLOAT_EQ(c.lr_at(149, 0.7), 0.05f);
}

TEST(LrSchedule, MultiStepLikeTheTeacherRecipe) {
  MultiStep s(0.05f, {180, 150, 210}, 0.1f);  // unsorted milestones are sorted
  EXPECT_FLOAT_EQ(s.lr_at(0), 0.05f);
  EXPECT_FLOAT_EQ(s.lr_at(149, 0.99), 0.05f);
  EXPECT_FLOAT_EQ(s.lr_at(150), 0.005f);
  EXPECT_FLOAT_EQ(s.lr_at(179), 0.005f);
  EXPECT_FLOAT_EQ(s.lr_at(180), 0.0005f);
  EXPECT_FLOAT_EQ(s.lr_at(210), 0.00005f);
  EXPECT_FLOAT_EQ(s.lr_at(239), 0.00005f);
}

TEST(LrSchedule, Cosine) {
  Cosine c(0.1f, 100, 0.f);
  EXPECT_FLOAT_EQ(c.lr_at(0), 0.1f);
  EXPECT_NEAR(c.lr_at(25), 0.1 * (1 + std::cos(M_PI / 4)) / 2, 1e-7);  // 0.0853553
  EXPECT_NEAR(c.lr_at(50), 0.05, 1e-7);
  EXPECT_NEAR(c.lr_at(49, 0.5), 0.1 * (1 + std::cos(M_PI * 49.5 / 100)) / 2, 1e-7);
  EXPECT_NEAR(c.lr_at(100), 0.0, 1e-9);
  EXPECT_NEAR(c.lr_at(120), 0.0, 1e-9);  // clamped past the end
  Cosine floor(0.1f, 10, 0.01f);
  EXPECT_NEAR(floor.lr_at(10), 0.01, 1e-8);
  EXPECT_NEAR(floor.lr_at(5), 0.055, 1e-7);
}

TEST(LrSchedule, LinearWarmupStartsNearZeroAndReachesTheInner) {
  auto inner = std::make_shared<Constant>(0.1f);
  LinearWarmup w(inner, 5.0);
  EXPECT_NEAR(w.lr_at(0), 0.001, 1e-8);  // start factor 0.01
  EXPECT_NEAR(w.lr_at(2, 0.5), 0.1 * (0.01 + 0.99 * 0.5), 1e-7);
  EXPECT_FLOAT_EQ(w.lr_at(5), 0.1f);
  EXPECT_FLOAT_EQ(w.lr_at(6), 0.1f);
  for (int e = 1; e < 5; ++e) EXPECT_LT(w.lr_at(e - 1), w.lr_at(e));  // increasing

  LinearWarmup wm(std::make_shared<MultiStep>(0.1f, std::vector<int64_t>{10}), 2.0, 0.f);
  EXPECT_FLOAT_EQ(wm.lr_at(0), 0.f);
  EXPECT_FLOAT_EQ(wm.lr_at(1), 0.05f);
  EXPECT_FLOAT_EQ(wm.lr_at(3), 0.1f);
  EXPECT_FLOAT_EQ(wm.lr_at(10), 0.01f);
}

TEST(LrSchedule, DrivesAnOptimizer) {
  Tensor p = senet::test::param({1.f}, "w");
  SGD opt({{"w", p}}, 0.f);
  MultiStep s(0.1f, {1});
  opt.set_lr(s.lr_at(1));
  EXPECT_FLOAT_EQ(opt.lr(), 0.01f);
}

TEST(LrSchedule, Errors) {
  EXPECT_THROW(Cosine(0.1f, 0), Error);
  EXPECT_THROW(MultiStep(-0.1f, {1}), Error);
  EXPECT_THROW(LinearWarmup(nullptr, 1.0), Error);
}
