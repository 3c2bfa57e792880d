// tests/ops/test_alpha_relu.cpp — SNL's relaxed ReLU y = α·relu(x) + (1−α)·x: closed forms
// (α = 1 is ReLU, α = 0 the identity), gradients to x and α, the batch reduction of dα, errors.
#include <gtest/gtest.h>

#include "engine/core/autograd.h"
#include "engine/ops/alpha_relu.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::random_tensor;

TEST(AlphaRelu, AlphaOneIsReluAndAlphaZeroIsIdentity) {
  Tensor x = random_tensor({3, 2, 4, 4}, 1);
  auto xv = x.to_vector();
  auto relu = alpha_relu(x, Tensor::full({2, 4, 4}, 1.f)).to_vector();
  auto ident = alpha_relu(x, Tensor::zeros({2, 4, 4})).to_vector();
  for (size_t i = 0; i < xv.size(); ++i) {
    EXPECT_EQ(relu[i], std::max(xv[i], 0.f));
    EXPECT_EQ(ident[i], xv[i]);
  }
}

TEST(AlphaRelu, ForwardMixesPerPosition) {
  Tensor x = random_tensor({2, 3, 2, 2}, 2);
  Tensor a = random_tensor({3, 2, 2}, 3);
  auto xv = x.to_vector(), av = a.to_vector(), yv = alpha_relu(x, a).to_vector();
  for (size_t i = 0; i < xv.size(); ++i) {
    const float al = av[i % 12];
    EXPECT_NEAR(yv[i], al * std::max(xv[i], 0.f) + (1 - al) * xv[i], 1e-6);
  }
}

TEST(AlphaRelu, GradcheckXAndAlpha) {
  Tensor x = random_tensor({3, 2, 3, 3}, 4, 1.f, true, 0.05f);  // off the kink (ε = 1e-2)
  Tensor a = random_tensor({2, 3, 3}, 5, 0.5f, true);
  std::vector<Tensor> inputs{x, a};
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return alpha_relu(in[0], in[1]); }, inputs);
}

TEST(AlphaRelu, AlphaGradientSumsOverTheBatch) {
  // dα[p] = Σ_n dy[n,p]·(relu(x) − x) = Σ_n dy·(−x) over the non-positive x; a batch large enough
  // that the threaded reduction splits positions.
  Tensor x = random_tensor({64, 8, 16, 16}, 6);
  Tensor a = Tensor::full({8, 16, 16}, 0.5f).set_requires_grad(true);
  Tensor dy = random_tensor({64, 8, 16, 16}, 7);
  alpha_relu(x, a).backward(dy);
  auto xv = x.to_vector(), gv = dy.to_vector(), da = a.grad().to_vector();
  const size_t P = 8 * 16 * 16;
  for (size_t p = 0; p < P; ++p) {
    double s = 0;
    for (size_t n = 0; n < 64; ++n)
      if (xv[n * P + p] <= 0) s -= double(gv[n * P + p]) * xv[n * P + p];
    ASSERT_NEAR(da[p], s, 1e-4) << "position " << p;
  }
}

TEST(AlphaRelu, ShapeMismatchNamesBothShapes) {
  try {
    alpha_relu(Tensor::zeros({2, 3, 4, 4}), Tensor::zeros({4, 4, 4}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[2, 3, 4, 4]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4, 4, 4]"), std::string::npos) << m;
  }
}
