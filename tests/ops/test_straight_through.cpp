// tests/ops/test_straight_through.cpp — a learned site's mask, y = top-k(|s|) forward and
// ∂L/∂s = ∂L/∂y ⊙ sign(s) backward (engine/ops/straight_through.h): the top-k exactly (ties across
// signs toward the lower index, NaN last, k = 0 and k = n), the backward as defined, and bitwise
// equality — values and gradients — with the composite m + sign(s)⊙(s − stop_grad(s)) that the
// learned site used to build from elementwise ops. No finite-difference check: y is piecewise
// constant, its backward a surrogate by design (the check would see 0).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "engine/core/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/straight_through.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::random_tensor;

namespace {

// The definition: order by (|s| descending, index ascending), NaN last; the first k are kept.
std::vector<uint8_t> reference(const std::vector<float>& s, int64_t k) {
  std::vector<int64_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    const float x = std::fabs(s[size_t(a)]), y = std::fabs(s[size_t(b)]);
    if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
    return x > y;
  });
  std::vector<uint8_t> m(s.size(), 0);
  for (int64_t i = 0; i < k; ++i) m[size_t(idx[size_t(i)])] = 1;
  return m;
}

}  // namespace

TEST(StraightThrough, KeepsTheKLargestMagnitudesTiesTowardTheLowerIndex) {
  // Small signed integers: every |s| appears with both signs, many times.
  std::vector<float> v(2 * 5 * 7);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(int(i * 7 % 11) - 5);
  const Tensor s = Tensor::from_vector(v, {2, 5, 7});
  for (int64_t k : {0, 1, 13, 35, 69, 70}) {
    Tensor mask = Tensor::zeros({2, 5, 7}, DType::U8);
    const std::vector<float> y = straight_through_topk(s, k, mask).to_vector();
    const std::vector<uint8_t> want = reference(v, k);
    EXPECT_EQ(mask.to_vector_u8(), want) << "k = " << k;
    for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(y[i], want[i] ? 1.f : 0.f) << i;
  }
}

TEST(StraightThrough, SpecialValues) {
  const std::vector<float> v = {0.f, -0.f, NAN, -INFINITY, 2.f, -2.f, 1e-45f, -1e-45f, NAN, 3.f};
  const Tensor s = Tensor::from_vector(v, {10});
  for (int64_t k = 0; k <= 10; ++k) {
    Tensor mask = Tensor::zeros({10}, DType::U8);
    straight_through_topk(s, k, mask);
    EXPECT_EQ(mask.to_vector_u8(), reference(v, k)) << "k = " << k;
  }
}

TEST(StraightThrough, BackwardIsTheUpstreamGradientTimesTheScoresSign) {
  Tensor s = random_tensor({3, 4, 4}, 1).set_requires_grad(true);
  Tensor dy = random_tensor({3, 4, 4}, 2);
  Tensor mask = Tensor::zeros({3, 4, 4}, DType::U8);
  straight_through_topk(s, 20, mask).backward(dy);
  const auto sv = s.to_vector(), gv = dy.to_vector(), ds = s.grad().to_vector();
  for (size_t i = 0; i < sv.size(); ++i) ASSERT_EQ(ds[i], sv[i] < 0 ? -gv[i] : gv[i]) << i;
}

// The op replaced hard + sign ⊙ (s − s.detach()) (models/relu_site.cpp before 2026-12-06): same
// values, same gradient, bit for bit.
TEST(StraightThrough, EqualsTheCompositeItReplacedBitwise) {
  Tensor s = random_tensor({2, 6, 6}, 3).set_requires_grad(true);
  Tensor s2 = Tensor::from_vector(s.to_vector(), s.shape()).set_requires_grad(true);
  Tensor dy = random_tensor({2, 6, 6}, 4);
  Tensor mask = Tensor::zeros({2, 6, 6}, DType::U8);
  Tensor y = straight_through_topk(s, 30, mask);
  y.backward(dy);
  const auto m = mask.to_vector_u8();
  const auto sv = s2.to_vector();
  std::vector<float> hard(m.begin(), m.end()), sign(sv.size());
  for (size_t i = 0; i < sv.size(); ++i) sign[i] = sv[i] < 0 ? -1.f : 1.f;
  Tensor composite = add(Tensor::from_vector(hard, s2.shape()),
                         mul(Tensor::from_vector(sign, s2.shape()), sub(s2, s2.detach())));
  composite.backward(dy);
  EXPECT_EQ(y.to_vector(), composite.to_vector());
  EXPECT_EQ(s.grad().to_vector(), s2.grad().to_vector());
}

TEST(StraightThrough, BadArgumentsAreNamed) {
  Tensor s = Tensor::zeros({2, 3});
  Tensor mask = Tensor::zeros({2, 3}, DType::U8), wrong = Tensor::zeros({3, 2}, DType::U8);
  EXPECT_THROW(
      {
        try {
          straight_through_topk(s, 7, mask);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("cannot keep 7 of 6"), std::string::npos);
          throw;
        }
      },
      Error);
  EXPECT_THROW(straight_through_topk(s, 2, wrong), Error);
  Tensor f = Tensor::zeros({2, 3});
  EXPECT_THROW(straight_through_topk(s, 2, f), Error);  // not u8
}
