// tests/ops/test_conv2d.cpp — conv2d: bitwise against the 7-loop definition on small integers (any
// summation order is exact), finite-difference gradients, and errors that name both shapes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/core/parallel.h"
#include "engine/cpu/conv2d.h"
#include "engine/ops/conv2d.h"
#include "tests/support/conv_reference.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::conv2d_backward_reference;
using senet::test::expect_bitwise;
using senet::test::random_int_tensor;
using senet::test::random_tensor;
using senet::test::ThreadCount;

namespace {

struct Case {
  int N, C, H, W, K, R, S, stride, pad;
};
// Edge cases (N=1, odd C and K, 7×9, stride 2, pad 0/1, 1×1, 2×2 at strides 1 and 2) and
// grouped-path cases (4×4, 32×32, N=5).
const std::vector<Case> kCases = {
    {1, 3, 7, 9, 5, 3, 3, 1, 1}, {2, 5, 7, 9, 4, 3, 3, 2, 1},   {2, 3, 7, 9, 7, 3, 3, 1, 0},
    {3, 5, 7, 9, 3, 1, 1, 1, 0}, {3, 5, 7, 9, 6, 1, 1, 2, 0},   {5, 6, 4, 4, 7, 3, 3, 1, 1},
    {5, 4, 4, 4, 3, 1, 1, 1, 0}, {5, 3, 32, 32, 4, 3, 3, 1, 1}, {5, 4, 32, 32, 5, 3, 3, 2, 1},
    {1, 1, 3, 3, 1, 3, 3, 1, 0}, {2, 3, 8, 7, 4, 2, 2, 2, 0},   {2, 3, 8, 7, 4, 2, 2, 1, 1},
};

}  // namespace

// Integers in [−8, 8]: every product and partial sum is exact in fp32, so the GEMM result must equal
// the 7-loop definition bit for bit, forward and backward, for every thread count (grouping changes).
TEST(Conv2d, IntegerInputsMatchTheDefinitionBitwise) {
  for (int threads : {1, 2, 3}) {
    ThreadCount tc(threads);
    for (size_t ci = 0; ci < kCases.size(); ++ci) {
      const Case& c = kCases[ci];
      SCOPED_TRACE("case " + std::to_string(ci) + " threads " + std::to_string(threads));
      Tensor x = random_int_tensor({c.N, c.C, c.H, c.W}, 10 + ci, -8, 8).set_requires_grad(true);
      Tensor w = random_int_tensor({c.K, c.C, c.R, c.S}, 20 + ci, -8, 8).set_requires_grad(true);
      Tensor b = random_int_tensor({c.K}, 30 + ci, -8, 8).set_requires_grad(true);
      Tensor y = conv2d(x, w, b, c.stride, c.pad);
      cpu::Conv2dGeom g = cpu::conv2d_geom(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad);
      ASSERT_EQ(y.shape(), (Shape{c.N, c.K, g.P, g.Q}));
      std::vector<float> ref(size_t(y.numel()));
      cpu::conv2d_reference(g, x.data<float>(), w.data<float>(), b.data<float>(), ref.data());
      EXPECT_EQ(y.to_vector(), ref);

      Tensor dy = random_int_tensor(y.shape(), 40 + ci, -8, 8);
      y.backward(dy);
      std::vector<double> dx, dw;
      conv2d_backward_reference(g, x.data<float>(), w.data<float>(), dy.data<float>(), dx, dw);
      expect_bitwise(x.grad().to_vector(), dx, "dx");
      expect_bitwise(w.grad().to_vector(), dw, "dw");
      std::vector<double> db(size_t(c.K), 0.0);
      auto dyv = dy.to_vector();
      for (size_t i = 0; i < dyv.size(); ++i) db[(i / size_t(g.PQ())) % size_t(c.K)] += dyv[i];
      expect_bitwise(b.grad().to_vector(), db, "db");
    }
  }
}

TEST(Conv2d, OneByOneConvIsAMatmulOverChannels) {
  Tensor x = random_tensor({2, 3, 2, 2}, 1), w = random_tensor({4, 3, 1, 1}, 2);
  Tensor y = conv2d(x, w, Tensor(), 1, 0);
  auto xv = x.to_vector(), wv = w.to_vector(), yv = y.to_vector();
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 4; ++j) {
        double s = 0;
        for (int c = 0; c < 3; ++c) s += double(wv[k * 3 + c]) * xv[(n * 3 + c) * 4 + j];
        EXPECT_NEAR(yv[(n * 4 + k) * 4 + j], s, 1e-5);
      }
}

TEST(Conv2d, GradcheckEveryInput) {
  for (size_t ci = 0; ci < kCases.size(); ++ci) {
    Case c = kCases[ci];
    if (c.H * c.W > 100)
      continue;  // finite differences cost 2 forwards per element: small shapes only
    c.N = std::min(c.N, 2);
    SCOPED_TRACE("case " + std::to_string(ci));
    for (bool bias : {false, true}) {
      Tensor x = random_tensor({c.N, c.C, c.H, c.W}, 50 + ci, 1.f, true);
      Tensor w = random_tensor({c.K, c.C, c.R, c.S}, 60 + ci, 0.5f, true);
      Tensor b = bias ? random_tensor({c.K}, 70 + ci, 1.f, true) : Tensor();
      std::vector<Tensor> in{x, w};
      if (bias) in.push_back(b);
      EXPECT_GRADCHECK(
          [&](const std::vector<Tensor>& v) {
            return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), c.stride, c.pad);
          },
          in);
    }
  }
}

TEST(Conv2d, OnlyTheInputsThatNeedGradGetOne) {
  Tensor x = random_tensor({2, 3, 5, 5}, 1), w = random_tensor({4, 3, 3, 3}, 2, 1.f, true);
  Tensor y = conv2d(x, w, Tensor(), 1, 1);
  y.backward(random_tensor(y.shape(), 3));
  EXPECT_FALSE(x.grad().defined());
  EXPECT_TRUE(w.grad().defined());
}

static void expect_error_naming(const std::function<void()>& f, const std::string& a,
                                const std::string& b) {
  try {
    f();
    ADD_FAILURE() << "expected senet::Error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(a), std::string::npos) << m;
    EXPECT_NE(m.find(b), std::string::npos) << m;
  }
}

TEST(Conv2d, ErrorsNameBothShapes) {
  Tensor x = Tensor::zeros({2, 3, 5, 5});
  expect_error_naming(
      [&] {
        conv2d(x, Tensor::zeros({4, 2, 3, 3}), Tensor(), 1, 1);
      },
      "[2, 3, 5, 5]", "[4, 2, 3, 3]");
  expect_error_naming(
      [&] {
        conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor(), 0, 1);
      },
      "[2, 3, 5, 5]", "[4, 3, 3, 3]");
  expect_error_naming(
      [&] {
        conv2d(x, Tensor::zeros({4, 3, 7, 7}), Tensor(), 1, 0);
      },
      "[2, 3, 5, 5]", "[4, 3, 7, 7]");
  expect_error_naming(
      [&] {
        conv2d(x, Tensor::zeros({4, 3, 3}), Tensor(), 1, 0);
      },
      "[2, 3, 5, 5]", "[4, 3, 3]");
  expect_error_naming(
      [&] {
        conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({3}), 1, 1);
      },
      "[3]", "[4, 3, 3, 3]");
  // A 7×7 kernel fits a 5×5 input padded by 1 on each side.
  EXPECT_NO_THROW(conv2d(x, Tensor::zeros({4, 3, 7, 7}), Tensor(), 1, 1));
}
