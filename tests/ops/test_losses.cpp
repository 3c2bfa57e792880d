// tests/ops/test_losses.cpp — cross-entropy, KD, PRAM, L1 and count_correct: closed forms, values
// against double-precision references, finite-difference gradients, the analytic KD gradient,
// PRAM's scale invariance, teacher inputs never receiving a gradient, and error messages.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/core/autograd.h"
#include "engine/ops/count_correct.h"
#include "engine/ops/cross_entropy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/kd_loss.h"
#include "engine/ops/l1.h"
#include "engine/ops/pram_loss.h"
#include "tests/support/error_of.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::random_tensor;

using senet::test::error_of;

static bool has(const std::string& m, const std::string& s) {
  return m.find(s) != std::string::npos;
}

// softmax(z/T) of one row, in double.
static std::vector<double> softmax_ref(const std::vector<float>& z, size_t row, size_t K,
                                       double T) {
  std::vector<double> p(K);
  double m = -1e300, s = 0;
  for (size_t k = 0; k < K; ++k) m = std::max(m, z[row * K + k] / T);
  for (size_t k = 0; k < K; ++k) s += p[k] = std::exp(z[row * K + k] / T - m);
  for (double& v : p) v /= s;
  return p;
}

// ---------------------------------------------------------------- cross-entropy

TEST(CrossEntropy, HandComputedValue) {
  // row 0: z = (1,2,3), y = 2: −log(e³/(e+e²+e³)) = log(1 + e⁻¹ + e⁻²) = 0.4076059644
  // row 1: z = (0,0,0), y = 1: log 3 = 1.0986122887;   mean = 0.7531091265
  Tensor z = Tensor::from_vector({1, 2, 3, 0, 0, 0}, {2, 3});
  Tensor y = Tensor::from_vector_i32({2, 1}, {2});
  EXPECT_NEAR(softmax_cross_entropy(z, y).item(), 0.7531091265, 1e-6);
}

TEST(CrossEntropy, StableForLargeLogits) {
  Tensor z = Tensor::from_vector({1000, 1001, -1000, 1e4f, 0, 0}, {2, 3});
  Tensor y = Tensor::from_vector_i32({1, 1}, {2});
  // row 0: log(1 + e⁻¹) ≈ 0.3132616875; row 1: 1e4 (log-sum-exp = 1e4 exactly in fp32)
  EXPECT_NEAR(softmax_cross_entropy(z, y).item(), (0.3132616875 + 1e4) / 2, 1e-2);
}

TEST(CrossEntropy, Gradcheck) {
  Tensor z = random_tensor({4, 5}, 1, 2.f, true);
  Tensor y = Tensor::from_vector_i32({0, 4, 2, 2}, {4});
  EXPECT_GRADCHECK([y](const std::vector<Tensor>& in) { return softmax_cross_entropy(in[0], y); },
                   std::vector<Tensor>{z});
}

TEST(CrossEntropy, LabelOutOfRangeNamesIndexAndValue) {
  Tensor z = Tensor::zeros({3, 4});
  std::string m = error_of([&] {
    softmax_cross_entropy(z, Tensor::from_vector_i32({0, 7, 1}, {3}));
  });
  EXPECT_TRUE(has(m, "index 1") && has(m, "7")) << m;
  m = error_of([&] { softmax_cross_entropy(z, Tensor::from_vector_i32({0, 1, -1}, {3})); });
  EXPECT_TRUE(has(m, "index 2") && has(m, "-1")) << m;
}

TEST(CrossEntropy, ShapeErrorsNameBothShapes) {
  std::string m = error_of([] {
    softmax_cross_entropy(Tensor::zeros({3, 4}), Tensor::from_vector_i32({0, 1}, {2}));
  });
  EXPECT_TRUE(has(m, "[3, 4]") && has(m, "[2]")) << m;
  m = error_of([] { softmax_cross_entropy(Tensor::zeros({3, 4}), Tensor::zeros({3})); });
  EXPECT_TRUE(has(m, "i32")) << m;  // f32 labels are a dtype error
}

// ---------------------------------------------------------------- KD

TEST(KdLoss, IdenticalLogitsGiveZero) {
  Tensor z = random_tensor({5, 10}, 2, 3.f);
  EXPECT_NEAR(kd_loss(z, z.clone(), 4.f).item(), 0.f, 1e-6);
}

TEST(KdLoss, ValueMatchesDoubleReference) {
  const size_t B = 3, K = 7;
  const double T = 4;
  Tensor s = random_tensor({3, 7}, 3, 3.f), t = random_tensor({3, 7}, 4, 3.f);
  auto sv = s.to_vector(), tv = t.to_vector();
  double ref = 0;
  for (size_t b = 0; b < B; ++b) {
    auto ps = softmax_ref(sv, b, K, T), pt = softmax_ref(tv, b, K, T);
    for (size_t k = 0; k < K; ++k) ref += pt[k] * (std::log(pt[k]) - std::log(ps[k]));
  }
  ref *= T * T / B;
  EXPECT_NEAR(kd_loss(s, t, 4.f).item(), ref, 1e-5 * (1 + ref));
}

TEST(KdLoss, GradientIsTOverBTimesPsMinusPt) {
  const size_t B = 4, K = 6;
  const float T = 4.f;
  Tensor s = random_tensor({4, 6}, 5, 3.f, true);
  Tensor t = random_tensor({4, 6}, 6, 3.f, true);  // requires grad, yet must get none
  kd_loss(s, t, T).backward();
  EXPECT_FALSE(t.grad().defined());
  auto sv = s.to_vector(), tv = t.to_vector(), g = s.grad().to_vector();
  for (size_t b = 0; b < B; ++b) {
    auto ps = softmax_ref(sv, b, K, T), pt = softmax_ref(tv, b, K, T);
    for (size_t k = 0; k < K; ++k)
      EXPECT_NEAR(g[b * K + k], T / B * (ps[k] - pt[k]), 1e-6) << b << "," << k;
  }
}

TEST(KdLoss, Gradcheck) {
  Tensor s = random_tensor({3, 5}, 7, 2.f, true), t = random_tensor({3, 5}, 8, 2.f);
  for (float T : {1.f, 4.f}) {
    auto f = [t, T](const std::vector<Tensor>& in) { return kd_loss(in[0], t, T); };
    EXPECT_GRADCHECK(f, std::vector<Tensor>{s});
  }
}

TEST(KdLoss, Errors) {
  std::string m = error_of([] { kd_loss(Tensor::zeros({2, 5}), Tensor::zeros({2, 6}), 4.f); });
  EXPECT_TRUE(has(m, "[2, 5]") && has(m, "[2, 6]")) << m;
  m = error_of([] { kd_loss(Tensor::zeros({2, 5}), Tensor::zeros({2, 5}), 0.f); });
  EXPECT_TRUE(has(m, "temperature")) << m;
}

// ---------------------------------------------------------------- PRAM

// The spec's formula in double: q = mean_c A², q̂ = q/max(‖q‖, 1e-12), L = mean (q̂S − q̂T)².
static double pram_ref(const std::vector<double>& as, const std::vector<double>& at, int64_t B,
                       int64_t C, int64_t HW) {
  auto qhat = [&](const std::vector<double>& a, int64_t b) {
    std::vector<double> q(static_cast<size_t>(HW), 0.0);
    double n = 0;
    for (int64_t i = 0; i < HW; ++i) {
      for (int64_t c = 0; c < C; ++c) {
        const double v = a[size_t((b * C + c) * HW + i)];
        q[size_t(i)] += v * v / double(C);
      }
      n += q[size_t(i)] * q[size_t(i)];
    }
    for (double& v : q) v /= std::max(std::sqrt(n), 1e-12);
    return q;
  };
  double L = 0;
  for (int64_t b = 0; b < B; ++b) {
    auto qs = qhat(as, b), qt = qhat(at, b);
    for (int64_t i = 0; i < HW; ++i)
      L += (qs[size_t(i)] - qt[size_t(i)]) * (qs[size_t(i)] - qt[size_t(i)]);
  }
  return L / double(B * HW);
}
static std::vector<double> as_double(const Tensor& t) {
  auto v = t.to_vector();
  return {v.begin(), v.end()};
}
static double pram_ref(const Tensor& as, const Tensor& at) {
  return pram_ref(as_double(as), as_double(at), as.size(0), as.size(1), as.size(2) * as.size(3));
}

TEST(PramLoss, IdenticalActivationsGiveZero) {
  Tensor a = random_tensor({2, 3, 4, 4}, 9);
  EXPECT_NEAR(pram_loss(a, a.clone()).item(), 0.f, 1e-9);
}

TEST(PramLoss, ScaleInvariant) {
  // q̂ is normalised, so A_S = 2·A_T (q_S = 4·q_T) gives the same map: L = 0.
  Tensor at = random_tensor({3, 4, 5, 5}, 10);
  EXPECT_NEAR(pram_loss(scale(at, 2.f), at).item(), 0.f, 1e-9);
}

TEST(PramLoss, ValueMatchesDoubleReference) {
  Tensor as = random_tensor({3, 4, 3, 5}, 11), at = random_tensor({3, 4, 3, 5}, 12);
  const double ref = pram_ref(as, at);
  EXPECT_GT(ref, 1e-4);
  EXPECT_NEAR(pram_loss(as, at).item(), ref, 1e-6 * (1 + ref));
}

TEST(PramLoss, GradcheckThroughTheNormalisation) {
  // The standard fp32 check (loss ×100: PRAM gradients are small, ~1e-4, and the default atol
  // would pass anything) ...
  senet::test::GradcheckOptions opt;
  opt.atol = 2e-4;  // fp32 rounding of L ≈ 4 (×100) is ~2.4e-7, over 2ε = 2e-2: ~1e-5 of noise
  Tensor as = random_tensor({2, 3, 3, 3}, 13, 1.f, true),
         at = random_tensor({2, 3, 3, 3}, 14, 1.f, true);
  EXPECT_GRADCHECK(
      [at](const std::vector<Tensor>& in) { return scale(pram_loss(in[0], at), 100.f); },
      std::vector<Tensor>{as}, opt);

  // ... and a tight one: central differences of the double-precision reference, no fp32 noise.
  as.zero_grad();
  pram_loss(as, at).backward();
  EXPECT_FALSE(at.grad().defined());  // the teacher is a constant
  auto g = as.grad().to_vector();
  auto sv = as_double(as), tv = as_double(at);
  double gmax = 0;
  for (float v : g) gmax = std::max(gmax, double(std::abs(v)));
  for (size_t i = 0; i < sv.size(); ++i) {
    const double x = sv[i], h = 1e-6;
    sv[i] = x + h;
    const double lp = pram_ref(sv, tv, 2, 3, 9);
    sv[i] = x - h;
    const double lm = pram_ref(sv, tv, 2, 3, 9);
    sv[i] = x;
    EXPECT_NEAR(g[i], (lp - lm) / (2 * h), 1e-4 * gmax) << "element " << i;
  }
}

TEST(PramLoss, AllZeroStudentStaysFinite) {
  // ‖q‖ = 0 → the denominator is clamped at 1e-12: q̂ = 0, L = mean q̂T², gradient finite (zero).
  Tensor as = Tensor::zeros({2, 3, 2, 2}).set_requires_grad(true);
  Tensor at = random_tensor({2, 3, 2, 2}, 15);
  Tensor y = pram_loss(as, at);
  EXPECT_NEAR(y.item(), 2.0 / (2 * 4), 1e-6);  // Σ_hw q̂T² = 1 per sample
  y.backward();
  for (float g : as.grad().to_vector()) EXPECT_EQ(g, 0.f);
}

TEST(PramLoss, ShapeMismatchNamesBothShapes) {
  std::string m = error_of([] {
    pram_loss(Tensor::zeros({2, 3, 4, 4}), Tensor::zeros({2, 3, 2, 2}));
  });
  EXPECT_TRUE(has(m, "[2, 3, 4, 4]") && has(m, "[2, 3, 2, 2]")) << m;
}

// ---------------------------------------------------------------- L1

TEST(L1, ValueAndSubgradientAtZero) {
  Tensor x = Tensor::from_vector({-2, 0, 3, -0.5f}, {4}).set_requires_grad(true);
  Tensor y = l1(x);
  EXPECT_FLOAT_EQ(y.item(), 5.5f);
  scale(y, 2.f).backward();
  auto g = x.grad().to_vector();
  EXPECT_EQ(g, (std::vector<float>{-2, 0, 2, -2}));
}

TEST(L1, Gradcheck) {
  Tensor x = random_tensor({3, 4, 2}, 16, 1.f, true, 0.05f);  // off the kink
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return l1(in[0]); }, std::vector<Tensor>{x});
}

// ---------------------------------------------------------------- count_correct

TEST(CountCorrect, ArgmaxWithTiesToLowestIndex) {
  Tensor z = Tensor::from_vector({0, 5, 1,         // argmax 1
                                  2, 2, 2,         // tie → 0
                                  1, 3, 3,         // tie → 1
                                  -1, -2, -0.5f},  // argmax 2
                                 {4, 3});
  EXPECT_EQ(count_correct(z, Tensor::from_vector_i32({1, 0, 1, 2}, {4})), 4);
  EXPECT_EQ(count_correct(z, Tensor::from_vector_i32({1, 1, 2, 0}, {4})), 1);
  std::string m = error_of([&] { count_correct(z, Tensor::from_vector_i32({1, 3, 0, 0}, {4})); });
  EXPECT_TRUE(has(m, "index 1") && has(m, "3")) << m;
}
