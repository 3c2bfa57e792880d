// tests/ops/test_pool_linear.cpp — global average pooling, linear and flatten: forward against
// plain loops, finite-difference gradients of every differentiable input, error messages.
#include <gtest/gtest.h>

#include "engine/core/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/flatten.h"
#include "engine/ops/global_avg_pool.h"
#include "engine/ops/linear.h"
#include "tests/support/error_of.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::random_tensor;

using senet::test::error_of;

TEST(GlobalAvgPool, ForwardIsThePlaneMean) {
  Tensor x = random_tensor({2, 3, 4, 5}, 1);
  Tensor y = global_avg_pool(x);
  ASSERT_EQ(y.shape(), Shape({2, 3}));
  auto xv = x.to_vector(), yv = y.to_vector();
  for (int r = 0; r < 6; ++r) {
    double s = 0;
    for (int i = 0; i < 20; ++i) s += xv[size_t(r * 20 + i)];
    EXPECT_NEAR(yv[size_t(r)], s / 20, 1e-6);
  }
}

TEST(GlobalAvgPool, Gradcheck) {
  Tensor x = random_tensor({2, 3, 3, 2}, 2, 1.f, true);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return global_avg_pool(in[0]); },
                   std::vector<Tensor>{x});
}

TEST(GlobalAvgPool, RejectsNon4D) {
  std::string m = error_of([] { global_avg_pool(Tensor::zeros({2, 3, 4})); });
  EXPECT_NE(m.find("[2, 3, 4]"), std::string::npos) << m;
}

// y[n,o] = Σ_f x[n,f]·w[o,f] + b[o] in double.
static std::vector<double> linear_ref(const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t N = x.size(0), F = x.size(1), O = w.size(0);
  auto xv = x.to_vector(), wv = w.to_vector();
  std::vector<float> bv = b.defined() ? b.to_vector() : std::vector<float>(size_t(O), 0.f);
  std::vector<double> y(size_t(N * O));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      double s = bv[size_t(o)];
      for (int64_t f = 0; f < F; ++f) s += double(xv[size_t(n * F + f)]) * wv[size_t(o * F + f)];
      y[size_t(n * O + o)] = s;
    }
  return y;
}

TEST(Linear, ForwardMatchesLoops) {
  // A small case and one wide enough that sgemm_parallel splits the output columns over threads.
  for (auto [N, F, O] : {std::tuple<int64_t, int64_t, int64_t>{3, 5, 4}, {33, 70, 200}}) {
    Tensor x = random_tensor({N, F}, 3), w = random_tensor({O, F}, 4), b = random_tensor({O}, 5);
    for (bool bias : {true, false}) {
      Tensor y = linear(x, w, bias ? b : Tensor());
      ASSERT_EQ(y.shape(), Shape({N, O}));
      auto ref = linear_ref(x, w, bias ? b : Tensor());
      auto yv = y.to_vector();
      for (size_t i = 0; i < ref.size(); ++i)
        EXPECT_NEAR(yv[i], ref[i], 1e-4 * (1 + std::abs(ref[i])));
    }
  }
}

TEST(Linear, GradcheckAllInputs) {
  Tensor x = random_tensor({4, 6}, 6, 1.f, true), w = random_tensor({3, 6}, 7, 1.f, true);
  Tensor b = random_tensor({3}, 8, 1.f, true);
  std::vector<Tensor> xwb{x, w, b}, xw{x, w};  // (named: a braced list's commas split macro args)
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, xwb);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); }, xw);
}

TEST(Linear, OnlyInputsThatRequireGradGetOne) {
  Tensor x = random_tensor({4, 6}, 6), w = random_tensor({3, 6}, 7, 1.f, true);
  Tensor b = random_tensor({3}, 8);
  Tensor y = linear(x, w, b);
  y.backward(random_tensor({4, 3}, 9));
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

TEST(Linear, ShapeErrorsNameBothShapes) {
  std::string m = error_of([] { linear(Tensor::zeros({2, 5}), Tensor::zeros({3, 4})); });
  EXPECT_NE(m.find("[2, 5]"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 4]"), std::string::npos) << m;
  m = error_of([] { linear(Tensor::zeros({2, 4}), Tensor::zeros({3, 4}), Tensor::zeros({4})); });
  EXPECT_NE(m.find("[4]"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 4]"), std::string::npos) << m;
}

TEST(Flatten, ShapeAndGradient) {
  Tensor x = random_tensor({2, 3, 2, 2}, 10, 1.f, true);
  EXPECT_EQ(flatten(x).shape(), Shape({2, 12}));
  EXPECT_EQ(flatten(Tensor::zeros({5})).shape(), Shape({5, 1}));
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return flatten(in[0]); },
                   std::vector<Tensor>{x});
}

TEST(PoolLinear, ClassifierHeadChainGradcheck) {
  // global_avg_pool → flatten → linear: the usual ResNet head, through the tape.
  Tensor x = random_tensor({2, 4, 3, 3}, 11, 1.f, true), w = random_tensor({5, 4}, 12, 1.f, true);
  Tensor b = random_tensor({5}, 13, 1.f, true);
  std::vector<Tensor> inputs{x, w, b};
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        return linear(flatten(global_avg_pool(in[0])), in[1], in[2]);
      },
      inputs);
}
