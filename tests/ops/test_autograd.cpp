// tests/core/test_autograd.cpp — the tape: topological order, accumulation, no-grad, views.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "engine/core/autograd.h"
#include "engine/ops/elementwise.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::random_tensor;

TEST(Autograd, DiamondGraphAccumulatesBothPaths) {
  // y = sum((a*b) + a): dy/da = b + 1, dy/db = a — a is used by two nodes.
  Tensor a = random_tensor({3, 4}, 1, 1.f, true), b = random_tensor({3, 4}, 2, 1.f, true);
  Tensor y = sum(add(mul(a, b), a));
  y.backward();
  auto ga = a.grad().to_vector(), gb = b.grad().to_vector();
  auto av = a.to_vector(), bv = b.to_vector();
  for (size_t i = 0; i < av.size(); ++i) {
    EXPECT_FLOAT_EQ(ga[i], bv[i] + 1.f);
    EXPECT_FLOAT_EQ(gb[i], av[i]);
  }
}

// The diamond's nodes, each once, every node after the producers of its inputs; none for a leaf.
TEST(Autograd, TopologicalNodesListEachNodeOnceAfterItsProducers) {
  Tensor a = random_tensor({3, 4}, 1, 1.f, true), b = random_tensor({3, 4}, 2, 1.f, true);
  Tensor m = mul(a, b), s = add(m, a), y = sum(s);
  const std::vector<Node*> order = topological_nodes(y);
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], m.impl().grad_fn.get());
  EXPECT_EQ(order[1], s.impl().grad_fn.get());
  EXPECT_EQ(order[2], y.impl().grad_fn.get());
  EXPECT_TRUE(topological_nodes(a).empty());
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor a = random_tensor({5}, 3, 1.f, true);
  sum(scale(a, 2.f)).backward();
  sum(scale(a, 3.f)).backward();
  for (float g : a.grad().to_vector()) EXPECT_FLOAT_EQ(g, 5.f);
  a.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor a = random_tensor({5}, 3, 1.f, true);
  NoGradGuard g;
  Tensor y = scale(a, 2.f);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_THROW(y.backward(Tensor::full({5}, 1.f)), Error);
}

TEST(Autograd, ReshapeAndSliceAreDifferentiable) {
  Tensor a = random_tensor({4, 6}, 4, 1.f, true);
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        return in[0].reshape({2, -1, 3});
      },
      std::vector<Tensor>{a});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return in[0].slice(1, 3); },
                   std::vector<Tensor>{a});
}

TEST(Autograd, ElementwiseOpsGradcheck) {
  Tensor a = random_tensor({3, 5}, 5, 1.f, true), b = random_tensor({3, 5}, 6, 1.f, true);
  std::vector<Tensor> in{a, b};
  EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return add(x[0], x[1]); }, in);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return sub(x[0], x[1]); }, in);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return mul(x[0], x[1]); }, in);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return scale(x[0], -1.5f); }, in);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return mean(mul(x[0], x[1])); }, in);
}

// mul_ writes a ⊙ b over a: bitwise equal to mul (a masked negative value becomes −0), a left as
// it was where the tape would need the op (the error says so), shapes checked like mul's.
TEST(Autograd, MulInPlaceEqualsMulAndRefusesWhileRecording) {
  Tensor a = random_tensor({3, 5}, 10, 1.f, true), m = random_tensor({3, 5}, 11, 1.f, false);
  std::vector<float> mv = m.to_vector();
  for (size_t i = 0; i < mv.size(); ++i) mv[i] = i % 3 == 0 ? 0.f : mv[i];
  m = Tensor::from_vector(mv, {3, 5});
  const std::vector<float> before = a.to_vector();
  const std::string err = [&] {
    try {
      mul_(a, m);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  EXPECT_NE(err.find("NoGradGuard"), std::string::npos) << err;
  EXPECT_EQ(a.to_vector(), before);
  NoGradGuard no_grad;
  const std::vector<float> want = mul(a, m).to_vector();
  mul_(a, m);
  const std::vector<float> got = a.to_vector();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i])) << i;
    if (mv[i] == 0.f) {
      EXPECT_EQ(std::signbit(got[i]), std::signbit(before[i])) << i;
    }
  }
  Tensor wrong = Tensor::zeros({5, 3});
  EXPECT_THROW(mul_(a, wrong), Error);
}

// The checker itself must catch a wrong backward (here: off by 5 %).
TEST(Autograd, GradcheckDetectsAPerturbedBackward) {
  Tensor a = random_tensor({4, 4}, 8, 1.f, true);
  auto wrong = [](const std::vector<Tensor>& x) {
    Tensor y = scale(x[0].detach(), 2.f);
    record("wrong_scale", {x[0]}, y,
           [](const Tensor& dy) -> std::vector<Tensor> { return {scale(dy, 2.1f)}; });
    return y;
  };
  auto r = senet::test::gradcheck(wrong, {a});
  EXPECT_FALSE(r.ok);
}

TEST(Autograd, ShapeMismatchNamesBothShapes) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 2});
  try {
    add(a, b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[3, 2]"), std::string::npos) << m;
  }
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Tensor a = random_tensor({8}, 9, 1.f, true);
  Tensor y = a;
  for (int i = 0; i < 3000; ++i) y = scale(y, 1.f);
  sum(y).backward();
  for (float g : a.grad().to_vector()) EXPECT_FLOAT_EQ(g, 1.f);
}
