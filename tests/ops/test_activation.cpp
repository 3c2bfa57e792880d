// tests/ops/test_activation.cpp — relu and masked_relu: closed forms (all-ones mask = ReLU, all-zeros
// mask = identity), per-channel broadcast, pass bits at sizes that are not multiples of 64, gradients.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/core/rng.h"
#include "engine/ops/activation.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::random_tensor;

namespace {

Tensor random_mask(const Shape& shape, uint64_t seed) {
  std::vector<uint8_t> m(size_t(shape.numel()));
  for (size_t i = 0; i < m.size(); ++i) m[i] = uint8_t(rand_below(seed, 5, i, 2));
  return Tensor::from_vector_u8(m, shape);
}

// Forward value and gradient (for upstream gradient dy) of f at a fresh copy of x.
std::pair<Tensor, Tensor> value_and_grad(const std::function<Tensor(const Tensor&)>& f,
                                         const Tensor& x, const Tensor& dy) {
  Tensor xi = x.clone().set_requires_grad(true);
  Tensor y = f(xi);
  y.backward(dy);
  return {y.detach(), xi.grad()};
}

}  // namespace

TEST(Activation, ReluValuesAndGradient) {
  Tensor x = Tensor::from_vector({-2.f, -0.5f, 0.f, 0.25f, 3.f}, {5});
  auto [y, dx] = value_and_grad([](const Tensor& t) { return relu(t); }, x, Tensor::full({5}, 2.f));
  EXPECT_EQ(y.to_vector(), (std::vector<float>{0.f, 0.f, 0.f, 0.25f, 3.f}));
  EXPECT_EQ(dx.to_vector(),
            (std::vector<float>{0.f, 0.f, 0.f, 2.f, 2.f}));  // [x > 0]: 0 at the kink
}

// 3·5·7·3 = 315 elements: the pass bits end mid-word and threads split at word boundaries.
TEST(Activation, MaskAllOnesIsReluAndAllZerosIsIdentity) {
  Shape shape{3, 5, 7, 3};
  Tensor x = random_tensor(shape, 1), dy = random_tensor(shape, 2);
  auto [yr, gr] = value_and_grad([](const Tensor& t) { return relu(t); }, x, dy);
  Tensor ones = Tensor::from_vector_u8(std::vector<uint8_t>(105, 1), {5, 7, 3});
  Tensor zeros = Tensor::from_vector_u8(std::vector<uint8_t>(105, 0), {5, 7, 3});
  auto [y1, g1] = value_and_grad([&](const Tensor& t) { return masked_relu(t, ones); }, x, dy);
  auto [y0, g0] = value_and_grad([&](const Tensor& t) { return masked_relu(t, zeros); }, x, dy);
  EXPECT_EQ(y1.to_vector(), yr.to_vector());
  EXPECT_EQ(g1.to_vector(), gr.to_vector());
  EXPECT_EQ(y0.to_vector(), x.to_vector());
  EXPECT_EQ(g0.to_vector(), dy.to_vector());
}

TEST(Activation, MaskedReluFollowsTheMaskElementByElement) {
  Shape shape{3, 5, 7, 3};
  Tensor x = random_tensor(shape, 3), dy = random_tensor(shape, 4), m = random_mask({5, 7, 3}, 5);
  auto [y, g] = value_and_grad([&](const Tensor& t) { return masked_relu(t, m); }, x, dy);
  auto xv = x.to_vector(), dyv = dy.to_vector(), yv = y.to_vector(), gv = g.to_vector();
  auto mv = m.to_vector_u8();
  for (size_t i = 0; i < xv.size(); ++i) {
    bool relu_here = mv[i % mv.size()];
    EXPECT_EQ(yv[i], relu_here ? std::max(xv[i], 0.f) : xv[i]) << i;
    EXPECT_EQ(gv[i], !relu_here || xv[i] > 0 ? dyv[i] : 0.f) << i;
  }
}

TEST(Activation, PerChannelMaskBroadcastsOverHW) {
  Shape shape{2, 4, 3, 5};
  Tensor x = random_tensor(shape, 6), dy = random_tensor(shape, 7);
  Tensor mc = Tensor::from_vector_u8({1, 0, 0, 1}, {4});
  std::vector<uint8_t> full;
  for (uint8_t v : mc.to_vector_u8()) full.insert(full.end(), 15, v);
  Tensor me = Tensor::from_vector_u8(full, {4, 3, 5});
  auto [yc, gc] = value_and_grad([&](const Tensor& t) { return masked_relu(t, mc); }, x, dy);
  auto [ye, ge] = value_and_grad([&](const Tensor& t) { return masked_relu(t, me); }, x, dy);
  EXPECT_EQ(yc.to_vector(), ye.to_vector());
  EXPECT_EQ(gc.to_vector(), ge.to_vector());
}

TEST(Activation, TwoDimensionalInputWithChannelMask) {
  Tensor x = Tensor::from_vector({-1.f, -2.f, 3.f, -4.f}, {2, 2});
  Tensor m = Tensor::from_vector_u8({1, 0}, {2});
  EXPECT_EQ(masked_relu(x, m).to_vector(), (std::vector<float>{0.f, -2.f, 3.f, -4.f}));
}

TEST(Activation, Gradcheck) {
  Tensor x =
      random_tensor({2, 3, 4, 5}, 8, 1.f, true, 0.05f);  // |x| ≥ 0.05: off the kink (ε = 0.01)
  Tensor me = random_mask({3, 4, 5}, 9), mc = Tensor::from_vector_u8({0, 1, 1}, {3});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return relu(v[0]); }, std::vector<Tensor>{x});
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& v) { return masked_relu(v[0], me); },
                   std::vector<Tensor>{x});
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& v) { return masked_relu(v[0], mc); },
                   std::vector<Tensor>{x});
}

TEST(Activation, LargeTensorSplitsAcrossThreadsConsistently) {
  Shape shape{7, 16, 33, 31};  // 114,576 elements: several word chunks per thread
  Tensor x = random_tensor(shape, 10), dy = random_tensor(shape, 11),
         m = random_mask({16, 33, 31}, 12);
  auto [y, g] = value_and_grad([&](const Tensor& t) { return masked_relu(t, m); }, x, dy);
  auto xv = x.to_vector(), dyv = dy.to_vector(), yv = y.to_vector(), gv = g.to_vector();
  auto mv = m.to_vector_u8();
  size_t bad = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    bool pass = !mv[i % mv.size()] || xv[i] > 0;
    bad += yv[i] != (pass ? xv[i] : 0.f);
    bad += gv[i] != (pass ? dyv[i] : 0.f);
  }
  EXPECT_EQ(bad, 0u);
}

TEST(Activation, MaskErrorsNameBothShapes) {
  Tensor x = Tensor::zeros({2, 3, 4, 5});
  for (Shape bad : {Shape{3, 5, 4}, Shape{4}, Shape{2, 3, 4, 5}}) {
    try {
      masked_relu(x, Tensor::zeros(bad, DType::U8));
      ADD_FAILURE() << "expected an error for mask " << bad;
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("[2, 3, 4, 5]"), std::string::npos) << msg;
      EXPECT_NE(msg.find(bad.str()), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(masked_relu(x, Tensor::zeros({3}, DType::F32)), Error);  // masks are u8
}
